"""One finding for a family of collections instead of one row per collection.

Collections whose names differ only by digits (`events_t_0001` ... `events_t_0012`: one per tenant,
day or id; the families DM106 names, found by rules/scale.py `name_patterns`) are written by the
same code, so a problem one of them has, they all have. Twelve rows saying the same thing bury the
other findings and read as twelve problems, where the fix is one: the writer of that pattern (or
merging the collections, DM106). So findings of one rule, path and severity that say the same
thing (their messages equal once their figures are set aside) in at least `family_min_collections`
collections of one pattern (DM106's threshold, default 3) become one finding on the pattern as a
glob (`shop.events_t_*`), listing the collections and the range of each figure across them.
The same holds for one collection in databases named alike, a database per tenant
(`t_0001.orders` ... : `t_*.orders`). Below that number the rows stay: two are a pair, not a family.
"""

from __future__ import annotations

import re
from collections import defaultdict

from nosql_advisor.findings import Finding, sorted_findings
from nosql_advisor.rules import RuleConfig, thresholds_of
from nosql_advisor.rules.scale import name_patterns

FIGURE = re.compile(r"\d+(?:[.,]\d+)*")


def family_size(config: RuleConfig) -> int:
    """How many collections of one pattern make a family (config: DM106 family_min_collections)."""
    return int(thresholds_of("DM106", config).get("family_min_collections", 3))


def group_families(findings: list[Finding], config: RuleConfig = RuleConfig()) -> list[Finding]:
    """The findings with each family's repeated finding merged into one, in DESIGN.md's order."""
    same: dict[tuple, list[Finding]] = defaultdict(list)
    for finding in findings:
        same[(finding.rule, finding.path, finding.severity, FIGURE.sub("#", finding.message))].append(finding)
    kept: list[Finding] = []
    for repeated in same.values():
        kept += _merge_families(repeated, family_size(config))
    return sorted_findings(kept)


def _merge_families(findings: list[Finding], least: int) -> list[Finding]:
    """Findings that say the same thing: one per family of at least `least`, the rest as they are."""
    globs = family_globs(sorted({f.namespace for f in findings}), least)
    merged: dict[str, list[Finding]] = defaultdict(list)
    single = []
    for finding in findings:
        if finding.namespace in globs:
            merged[globs[finding.namespace]].append(finding)
        else:
            single.append(finding)
    return single + [family_finding(glob, members) for glob, members in merged.items()]


def family_globs(namespaces: list[str], least: int) -> dict[str, str]:
    """namespace -> the glob of its family: collections named alike in one database
    (shop.events_t_0001 -> shop.events_t_*), else one collection in databases named alike, a
    database per tenant (t_0001.orders -> t_*.orders: name_patterns read the other way round)."""
    globs = {f"{database}.{name}": f"{database}.{pattern}"
             for (database, pattern), names in name_patterns(namespaces, least).items() for name in names}
    rest = [n.partition(".") for n in namespaces if n not in globs and "." not in n.partition(".")[2]]
    swapped = name_patterns([f"{name}.{database}" for database, _, name in rest], least)
    globs.update({f"{database}.{name}": f"{pattern}.{name}"
                  for (name, pattern), databases in swapped.items() for database in databases})
    return globs


def family_finding(glob: str, members: list[Finding]) -> Finding:
    """The one finding of a family: the first member's words, every member's collection, and the
    range of each figure that differs between them."""
    members = sorted_findings(members)
    first = members[0]
    collections = sorted({f.namespace for f in members})
    database, _, pattern = glob.partition(".")
    pattern = glob if "*" in database else pattern  # a database per tenant: the whole glob
    messages = {said_of_family(f, glob) for f in members}
    if len(messages) == 1:
        said = f"in {len(collections)} collections of the pattern {pattern}: {messages.pop()}"
    else:  # the figures differ: one member's words, its own name kept, and the ranges in the evidence
        said = (f"in {len(collections)} collections of the pattern {pattern} ({first.namespace.partition('.')[2]} "
                f"shown; the range of each figure is in the evidence): {first.message}")
    evidences = [f.evidence for f in members]
    return Finding(
        first.rule, first.severity, glob, first.path, said,
        {"collections": collections, "count": len(collections), "pattern": glob,
         "range": figure_ranges(evidences), "common": common_evidence(evidences)},
        first.recommendation)


def said_of_family(finding: Finding, glob: str) -> str:
    """A member's message with its own name said as the pattern ("shop.events_t_* has no validator")."""
    name, pattern = finding.namespace.partition(".")[2], glob.partition(".")[2]
    message = finding.message.replace(finding.namespace, glob)
    if not name or name == pattern:  # a database per tenant: the collection's name is the same
        return message
    return re.sub(rf"(?<![\w.]){re.escape(name)}(?![\w])", pattern, message)


def figure_ranges(evidences: list[dict]) -> dict[str, dict]:
    """{dotted key: {"min", "max"}} for each number all members' evidence holds and that differs."""
    leaves = [dict(_numbers(e)) for e in evidences]
    shared = set.intersection(*(set(leaf) for leaf in leaves)) if leaves else set()
    ranges = {}
    for key in sorted(shared):
        values = [leaf[key] for leaf in leaves]
        if min(values) != max(values):
            ranges[key] = {"min": min(values), "max": max(values)}
    return ranges


def common_evidence(evidences: list[dict]) -> dict:
    """The evidence entries every member holds with the same value."""
    first = evidences[0] if evidences else {}
    return {key: value for key, value in first.items() if all(e.get(key, object()) == value for e in evidences)}


def _numbers(evidence: dict, prefix: str = ""):
    for key, value in evidence.items():
        if isinstance(value, dict):
            yield from _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield f"{prefix}{key}", value
