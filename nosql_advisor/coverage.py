"""Coverage: for every registered rule, on every scanned collection (or database, for the rules
whose findings are about a database), whether it was checked, or why not, in words.

Silence is never a pass: an export file holds no index list, so the index rules could not have
found anything there, and the report must say so rather than read as if they passed. This is
the one place that decides it; `Landscape.not_checked()`, advise() (which drops findings of a
rule not checked) and report.json's `coverage` all read it.

What each rule needs is one line of NEEDS, read from the rule's code:
- data: documents were read (every rule reads the shape): an empty collection gives none, and a
  shape capped by --max-paths is checked in part (the entry's `partial` says what was left out);
- metadata: the collection's options and index list as the source holds them (live, dump
  metadata.json); an export file has neither;
- indexes: an index list, from the metadata or from what a live --profile listed;
- workload: a --profile or --log was read;
- indexes or recorded plans: an index list, or workload records of the collection that say how
  they ran (planSummary, docsExamined): the rule then reports only those shapes;
- index usage: `$indexStats` rows for the collection (a live --profile reads them);
- declared schema: a $jsonSchema to hold the data against (validator or schemas/ file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nosql_advisor.rules import all_rules

if TYPE_CHECKING:
    from nosql_advisor.scan import Collection, Landscape

NEEDS: dict[str, tuple[str, ...]] = {
    "DM101": ("data",), "DM102": ("data",), "DM103": ("data",), "DM104": ("data",), "DM105": ("data",),
    "DM106": (),  # the collection names of a database: see DATABASE_WIDE
    "DM201": ("data",), "DM202": ("data",),
    "DM203": ("data",),  # reference stored with another BSON type than the referenced _id
    "DM204": ("data",),  # two collections referencing each other both ways
    "DM301": ("data",), "DM302": ("data",), "DM303": ("data", "metadata"), "DM305": ("data",),
    "DM304": ("workload",), "DM406": ("workload",),
    # a plan from the index list, or the one the server recorded: an empty index list proves nothing
    "DM401": ("workload", "indexes or recorded plans"), "DM402": ("workload", "indexes or recorded plans"),
    "DM407": ("workload", "indexes or recorded plans"),
    "DM403": ("indexes", "index usage"), "DM404": ("indexes",), "DM405": ("indexes",),
    "DM408": ("workload",),  # unsafe writes (its unique-index part reads the index list when known)
    "DM501": ("metadata",), "DM502": ("metadata",),
    "DM503": ("data", "declared schema"), "DM504": ("data", "declared schema"), "DM505": ("data",),
    "DM506": ("data",),  # typed values stored as strings
    "DM507": ("data",),  # consistency invariants
    "DM508": ("data",),  # schema evolution
    "DM601": ("data",), "DM602": ("data",), "DM603": ("data", "metadata"),
    "DM701": ("data",), "DM702": ("data",),
}

DATABASE_WIDE = frozenset({"DM106"})  # coverage per database: its findings are about a database's collections

NO_WORKLOAD = "no workload read (--profile/--log)"
EMPTY = "empty collection: no documents to check"
CHECKED, NOT_CHECKED = "checked", "not_checked"


@dataclass(frozen=True)
class CoverageEntry:
    rule: str
    namespace: str  # "db.coll", or "db" for a database-wide rule
    status: str  # CHECKED | NOT_CHECKED
    reason: str | None = None  # NOT_CHECKED only
    partial: str | None = None  # CHECKED only: what of the data the rule could not see (a path cap)

    def to_dict(self) -> dict:
        entry = {"rule": self.rule, "namespace": self.namespace, "status": self.status}
        if self.reason is not None:
            entry["reason"] = self.reason
        if self.partial is not None:
            entry["partial"] = self.partial
        return entry


def coverage(landscape: Landscape) -> list[CoverageEntry]:
    """Every registered rule on every scanned collection (database-wide rules: every database),
    plus the places a workload could not feed that were not scanned; by namespace, then rule."""
    stated = stated_reasons(landscape)
    entries: dict[tuple[str, str], CoverageEntry] = {}
    for rule in all_rules():
        if rule.id in DATABASE_WIDE:
            for database in sorted({c.info.namespace.partition(".")[0] for c in landscape.collections}):
                entries[(database, rule.id)] = _entry(rule, database, stated.get((database, rule.id)))
            continue
        for collection in landscape.collections:
            namespace = collection.info.namespace
            reason = stated.get((namespace, rule.id)) or _missing(rule, collection, landscape)
            entries[(namespace, rule.id)] = _entry(rule, namespace, reason, _partial(rule, collection))
    for key, reason in stated.items():
        if key not in entries:  # a profiled namespace the scan did not read
            entries[key] = CoverageEntry(key[1], key[0], NOT_CHECKED, reason)
    return [entries[key] for key in sorted(entries)]


def not_checked(landscape: Landscape) -> dict[tuple[str, str], str]:
    """(namespace, rule) -> the reason, for the entries of `coverage` that were not checked."""
    return {(e.namespace, e.rule): e.reason for e in coverage(landscape) if e.status == NOT_CHECKED}


def _entry(rule, namespace: str, reason: str | None, partial: str | None = None) -> CoverageEntry:
    if reason is None and not rule.checked:
        reason = "no check for this rule in this version"
    if reason:
        return CoverageEntry(rule.id, namespace, NOT_CHECKED, reason)
    return CoverageEntry(rule.id, namespace, CHECKED, None, partial)


def _partial(rule, collection: Collection) -> str | None:
    """What a data rule did not see of a collection whose shape hit the path cap (--max-paths):
    it was checked, on the paths recorded, and the report must not read as if on all of them."""
    capped = collection.shape.capped
    if capped is None or "data" not in NEEDS.get(rule.id, ("data",)):
        return None
    return f"{capped.dropped_keys} key occurrences beyond --max-paths {capped.limit} were not recorded"


def stated_reasons(landscape: Landscape) -> dict[tuple[str, str], str]:
    """What the sources said could not be read: each collection's `not_checked` (a live listIndexes
    refused...) and the workload's (a database's system.profile unreadable counts for each of its
    scanned collections; `$indexStats` refused for one namespace)."""
    reasons = {(c.info.namespace, rule): reason for c in landscape.collections
               for rule, reason in c.info.not_checked.items()}
    for where, rules in sorted(getattr(landscape.workload, "not_checked", {}).items()):
        scanned = [c.info.namespace for c in landscape.collections if "." not in where
                   and c.info.namespace.partition(".")[0] == where]
        for namespace in scanned or [where]:
            for rule, reason in rules.items():
                reasons.setdefault((namespace, rule), reason)
    return reasons


def _missing(rule, collection: Collection, landscape: Landscape) -> str | None:
    """The first need of the rule the landscape does not meet, in words; None: all are met."""
    for need in NEEDS.get(rule.id, ("data",)):
        reason = CHECKS[need](collection, landscape)
        if reason is not None:
            return reason
    return None


def _data(collection: Collection, landscape: Landscape) -> str | None:
    info = collection.info
    if collection.shape.sampled == 0 and info.status != "complete":
        return f"no documents read: {info.status_reason or info.status}"
    if collection.shape.sampled == 0:
        return EMPTY  # read to the end and nothing in it: no rule looked at anything
    return None


def _metadata(collection: Collection, landscape: Landscape) -> str | None:
    info = collection.info
    if info.knows_metadata:
        return None
    if info.kind == "dump":
        return "the source holds no collection metadata: a dump without its .metadata.json"
    return "the source holds no collection metadata: export files"


def _indexes(collection: Collection, landscape: Landscape) -> str | None:
    if collection.info.namespace in getattr(landscape.workload, "indexes", {}):
        return None  # listed by a live --profile
    return _metadata(collection, landscape)


def _indexes_or_recorded_plans(collection: Collection, landscape: Landscape) -> str | None:
    """The index list's reason, unless the workload recorded a plan for one of the collection's
    shapes (rules/workload.py then reports those shapes, on the server's evidence)."""
    from nosql_advisor.rules.workload import recorded_plan

    reason = _indexes(collection, landscape)
    workload, namespace = landscape.workload, collection.info.namespace
    if reason is not None and workload is not None and any(
            recorded_plan(stats) for stats in workload.shapes.values() if stats.key.namespace == namespace):
        return None
    return reason


def _workload(collection: Collection, landscape: Landscape) -> str | None:
    return NO_WORKLOAD if landscape.workload is None else None


def _index_usage(collection: Collection, landscape: Landscape) -> str | None:
    if landscape.workload is None:
        return NO_WORKLOAD
    if collection.info.namespace in landscape.workload.index_stats:
        return None
    return "no index usage read ($indexStats: a live --profile that names the collection)"


def _declared_schema(collection: Collection, landscape: Landscape) -> str | None:
    declared = collection.declared
    if declared is not None and declared.schema is not None:
        return None
    if declared is not None:
        return "no declared schema: the validator holds no $jsonSchema"
    if collection.info.knows_metadata:
        return "no declared schema: no validator, no schemas/ file"
    return "no declared schema: no schemas/ file (and the source holds no validator)"


CHECKS: dict[str, Callable[[Collection, Landscape], str | None]] = {
    "data": _data, "metadata": _metadata, "indexes": _indexes,
    "indexes or recorded plans": _indexes_or_recorded_plans, "workload": _workload,
    "index usage": _index_usage, "declared schema": _declared_schema,
}
