"""The plain data the demo is made of: collections, planted problems, and the demo itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

DATABASE = "shop"
TENANT_KEY = "tenant_id"
# a control whose copy is documented as a source of truth in its validator is clean only where the
# validator is read: a dump's metadata, a live server, or --schemas with an export
CONTROLS_NEED = {"shop.payments": ["declared schema"]}


def ns(name: str) -> str:
    return f"{DATABASE}.{name}"


@dataclass
class DemoCollection:
    name: str
    documents: list  # dicts of BSON-ready values (ObjectId, naive-UTC datetime, Decimal128, Binary...),
    # or RawBSONDocuments where a type PyMongo cannot encode is planted (legacy.py)
    indexes: list[dict] = field(default_factory=list)  # as listIndexes returns them, without _id_
    options: dict = field(default_factory=dict)  # {} or validator + validationLevel + validationAction


@dataclass
class PlantedProblem:
    rule: str  # DESIGN.md rule id
    namespace: str  # "shop.orders"; "shop.events_t_*" for a rule about a family of collections
    path: str | None  # dot path, arrays transparent; None for a collection-level problem
    note: str  # what was planted and the numbers that make it a problem


@dataclass
class Demo:
    database: str
    collections: list[DemoCollection]
    planted: list[PlantedProblem]
    controls: list[str]  # namespaces that must raise no finding at all
    seed: int = 42
    scale: float = 1.0
    global_collections: list[str] = field(default_factory=list)  # exempt from the tenant rules

    def collection(self, name: str) -> DemoCollection:
        return next(c for c in self.collections if c.name == name)

    def manifest(self) -> dict:
        """What a test holds the advisor to: every planted problem found, nothing on a control.

        Each planted problem says what beyond the documents its rule needs (coverage.py's NEEDS:
        "metadata", "workload", "declared schema"...): an export form holds no metadata, so its
        scan reports those rules as not checked instead of finding them. Controls clean only with
        the declared schemas (a copy documented in a validator) are listed in `controls_need`."""
        from nosql_advisor.coverage import NEEDS

        return {
            "database": self.database, "seed": self.seed, "scale": self.scale, "tenant_key": TENANT_KEY,
            "planted": [{**asdict(p), "needs": [n for n in NEEDS.get(p.rule, ()) if n != "data"]}
                        for p in self.planted],
            "controls": self.controls, "controls_need": CONTROLS_NEED,
            "global_collections": self.global_collections,
            "collections": {c.name: len(c.documents) for c in self.collections},
        }
