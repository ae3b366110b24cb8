"""The plain data the demo is made of: collections, planted problems, and the demo itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

DATABASE = "shop"
TENANT_KEY = "tenant_id"


def ns(name: str) -> str:
    return f"{DATABASE}.{name}"


@dataclass
class DemoCollection:
    name: str
    documents: list[dict]  # BSON-ready values: ObjectId, naive-UTC datetime, Decimal128, Binary...
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
        """What a test holds the advisor to: every planted problem found, nothing on a control."""
        return {
            "database": self.database, "seed": self.seed, "scale": self.scale, "tenant_key": TENANT_KEY,
            "planted": [asdict(p) for p in self.planted],
            "controls": self.controls, "global_collections": self.global_collections,
            "collections": {c.name: len(c.documents) for c in self.collections},
        }
