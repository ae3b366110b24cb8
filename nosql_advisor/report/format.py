"""Small formatting helpers every renderer shares, so md, html and the terminal say the same."""

from __future__ import annotations

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")  # most severe first
MIB = 1024 * 1024


def severity_rank(severity: str) -> int:
    """0 for critical .. 4 for info; unknown last."""
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def namespaces_of(finding: dict) -> list[str]:
    """The collections a finding counts under. A family finding (rules/families.py: its namespace
    is the glob "shop.events_t_*" and evidence["collections"] lists the members) counts under each
    member, so no per-collection figure (scale_risk, the terminal's counts, SARIF) reads a
    member as clean; any other finding counts under its own namespace."""
    evidence = finding.get("evidence") or {}
    members = evidence.get("collections")
    namespace = finding.get("namespace")
    if namespace is not None and evidence.get("pattern") == namespace and isinstance(members, list) and members:
        return sorted(members)
    return [namespace]


def landscape_risks(report: dict, limit: int) -> list[dict]:
    """The top risks of every collection, most severe and best evidenced first, each with its
    namespace: the one ranking the terminal summary and report.html share. A family finding
    sits in each member's top risks; here it is one risk, on the family's glob."""
    risks, seen = [], set()
    for collection in report["collections"]:
        for risk in collection["scale_risk"]["top_risks"]:
            namespace = risk.get("family") or collection["namespace"]
            key = (namespace, risk["rule"], risk["path"], risk["message"])
            if key not in seen:
                seen.add(key)
                risks.append({**risk, "namespace": namespace})
    risks.sort(key=lambda r: (severity_rank(r["severity"]), -r["evidence_weight"], r["namespace"], r["rule"]))
    return risks[:limit]


def sorted_by_severity(findings: list[dict]) -> list[dict]:
    return sorted(findings, key=lambda f: (severity_rank(f["severity"]), f["namespace"], f["rule"], f.get("path") or ""))


def by_severity(findings: list[dict]) -> dict[str, int]:
    counts = {s: 0 for s in SEVERITY_ORDER}
    for finding in findings:
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    return counts


def counted(count: int, noun: str) -> str:
    """"1 finding", "3 findings": a count with its noun, as a person writes it."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def number(value: float | int | None) -> str:
    if value is None:
        return "?"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"


def mib_or_bytes(size: float | int | None) -> str:
    if size is None:
        return "?"
    for unit, scale in (("MiB", MIB), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:,.1f}".removesuffix(".0") + f" {unit}"
    return f"{size:,.0f} B"


def duration(months: float | int) -> str:
    """A duration in months as a person reads it: months under two years, years above."""
    if months < 24:
        return f"{months:,.0f} months"
    return f"{months / 12:,.0f} years"


def rule_link(rule: str, docs_url: str | None) -> str:
    """A markdown link to the rule page under the docs URL; without one, the bare id: a relative
    link would point at a file that is not beside the report (`nosql-advisor rules ID` prints it)."""
    return f"[{rule}]({docs_url.rstrip('/')}/{rule}.md)" if docs_url else rule


def incomplete_collections(report: dict) -> list[str]:
    """One line per collection read only in part (DESIGN.md's exit 4): what the report holds of
    it is what was read, and the reader must know."""
    return [f"{c['namespace']} {c['status'].replace('_', ' ')}: {c.get('status_reason') or 'no reason given'}"
            for c in report["collections"] if c.get("status", "complete") != "complete"]


def not_checked_by_reason(report: dict) -> dict[str, dict[str, list[str]]]:
    """report.json's not-checked coverage entries as reason -> rule -> namespaces (sorted)."""
    grouped: dict[str, dict[str, list[str]]] = {}
    for entry in report.get("coverage") or []:
        if entry.get("status") == "not_checked":
            places = grouped.setdefault(entry.get("reason") or "no reason given", {}).setdefault(entry["rule"], [])
            places.append(entry["namespace"])
    return {reason: {rule: sorted(places) for rule, places in sorted(rules.items())}
            for reason, rules in sorted(grouped.items())}


def _places(namespaces: set[str]) -> str:
    """"9 collections", "1 database", "3 collections and 1 database" (a database-wide rule's
    namespace is a database name)."""
    databases = sum("." not in n for n in namespaces)
    counts = [(len(namespaces) - databases, "collection"), (databases, "database")]
    return " and ".join(f"{n} {word}{'s' * (n != 1)}" for n, word in counts if n) or "0 collections"


def not_checked_line(reason: str, rules: dict[str, list[str]]) -> str:
    """"6 rules not checked on 9 collections: the source holds no collection metadata (DM303, ...)"."""
    places = {n for namespaces in rules.values() for n in namespaces}
    return (f"{len(rules)} rule{'s' * (len(rules) != 1)} not checked on {_places(places)}: "
            f"{reason} ({', '.join(rules)})")


def not_checked_lines(report: dict) -> list[str]:
    """report.json's coverage as one line per reason: "2 rules not checked on 3 collections:
    not authorised for $indexStats (DM403, ...)". Silence is never a pass."""
    return [not_checked_line(reason, rules) for reason, rules in not_checked_by_reason(report).items()]


def checked_in_part_line(report: dict) -> str | None:
    """The checked coverage entries that say `partial`, in one line: "checked in part on 1
    collection: odd.wide: 15003 key occurrences beyond --max-paths 5000 were not recorded (26
    rules)"; None when every check saw all it read."""
    partial: dict[str, tuple[str, set[str]]] = {}
    for entry in report.get("coverage") or []:
        if entry.get("status") == "checked" and entry.get("partial"):
            partial.setdefault(entry["namespace"], (entry["partial"], set()))[1].add(entry["rule"])
    if not partial:
        return None
    rules = set().union(*(ruled for _, ruled in partial.values()))
    said = "; ".join(f"{namespace}: {what}" for namespace, (what, _) in sorted(partial.items()))
    return f"checked in part on {_places(set(partial))}: {said} ({len(rules)} rule{'s' * (len(rules) != 1)})"


def clean_report_line(report: dict) -> str:
    """What a report with no findings says: never a bare "no findings", since it holds only for
    what was checked."""
    if not report.get("coverage"):
        return "No findings: no collection was read, so no rule was checked."
    unchecked = not_checked_by_reason(report)
    if not unchecked:
        in_part = " (some in part: see checked in part)" if checked_in_part_line(report) else ""
        return f"No findings in what was checked: every rule was checked on every collection{in_part}."
    rules = sorted({rule for per_reason in unchecked.values() for rule in per_reason})
    return f"No findings in what was checked; not checked: {', '.join(rules)} (reasons: see Not checked)."


# -- how a collection was read (issue 12): the same words in the terminal, report.md and report.html

SAMPLED_BY = {"sample": "$sample", "file-sample": "a seeded uniform sample of the file"}
# exact.py's figures that stay from the sample, as a reader knows them
FROM_SAMPLE_WORDS = {"distinct_estimate": "distinct counts", "fingerprints": "copies across collections",
                     "rows": "copies across collections", "string_values": "enum values",
                     "detected": "value detectors", "examined": "value detectors", "value_skew": "tenant skew",
                     "type_times": "when types changed", "array.growth": "array growth", "invariants": "invariants",
                     "evolution": "schema versions", "validation": "validation against the declared schema"}


def read_line(method: str, read: int, estimated: int | None, complete: bool = True,
              exact: dict | None = None, stratified: bool = False) -> str:
    """How the figures of one collection were got, in words: "1,000 of 28,112 documents read
    ($sample); shares are 95% intervals", "28,112 documents, every document read", "exact:
    computed by the server over 28,112 documents". A read that stopped early never says every
    document was read. A stratified sample's shares are of the sample (its age buckets weigh
    alike), not intervals of the collection's shares."""
    if method == "exact":
        documents = (exact or {}).get("documents", estimated if estimated is not None else read)
        return f"exact: computed by the server over {number(documents)} documents"
    if method in SAMPLED_BY:
        total = f" of {number(estimated)}" if estimated is not None else ""
        if stratified:
            return (f"{number(read)}{total} documents read ({SAMPLED_BY[method]} by age bucket); shares are of "
                    "the stratified sample, not the collection's")
        return f"{number(read)}{total} documents read ({SAMPLED_BY[method]}); shares are 95% intervals"
    if not complete:
        total = f" of {number(estimated)}" if estimated is not None else ""
        return f"{number(read)}{total} documents read before the read stopped"
    return f"{counted(read, 'document')}, every document read"


def read_notes(strata: list[dict] | None, exact: dict | None) -> list[str]:
    """What else the reader of a collection's figures must know: the age buckets a stratified
    sample drew from, and what an exact pass could not compute on the server."""
    notes = []
    if strata:
        buckets = ", ".join(f"no date {number(b['documents'])}" if b.get("undated") else
                            f"{b['from'][:10]}..{b['to'][:10]} {number(b['documents'])}" for b in strata)
        notes.append(f"sampled by age in {counted(len(strata), 'bucket')} ({buckets}): each bucket weighs "
                     "alike, so shares lean to the ages the collection holds few of")
    if exact:
        for figure, why in sorted((exact.get("fallbacks") or {}).items()):
            notes.append(f"exact pass fell back for {figure}: {why}")
        if exact.get("from_sample"):
            said = dict.fromkeys(FROM_SAMPLE_WORDS.get(figure, figure) for figure in exact["from_sample"])
            notes.append(f"from the sample, not the exact pass: {', '.join(said)}")
        found = exact.get("found_only_by_exact") or []
        if found:
            notes.append(f"found only by the exact pass (the sample missed them): {', '.join(found)}")
    return notes


def collection_read_line(collection: dict) -> str | None:
    """read_line of a report.json collection entry (None for an entry that does not say how many
    documents were read: report.json always does, a hand-built entry may not)."""
    if "sampled" not in collection:
        return None
    return read_line(collection.get("method", "full"), collection["sampled"], collection.get("documents_estimated"),
                     collection.get("status", "complete") == "complete", collection.get("exact"),
                     bool(collection.get("strata")))
