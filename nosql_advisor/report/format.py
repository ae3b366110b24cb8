"""Small formatting helpers every renderer shares, so md, html and the terminal say the same."""

from __future__ import annotations

SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")  # most severe first
MIB = 1024 * 1024


def severity_rank(severity: str) -> int:
    """0 for critical .. 4 for info; unknown last."""
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def landscape_risks(report: dict, limit: int) -> list[dict]:
    """The top risks of every collection, most severe and best evidenced first, each with its
    namespace: the one ranking the terminal summary and report.html share."""
    risks = [{**r, "namespace": c["namespace"]} for c in report["collections"] for r in c["scale_risk"]["top_risks"]]
    risks.sort(key=lambda r: (severity_rank(r["severity"]), -r["evidence_weight"], r["namespace"], r["rule"]))
    return risks[:limit]


def sorted_by_severity(findings: list[dict]) -> list[dict]:
    return sorted(findings, key=lambda f: (severity_rank(f["severity"]), f["namespace"], f["rule"], f.get("path") or ""))


def by_severity(findings: list[dict]) -> dict[str, int]:
    counts = {s: 0 for s in SEVERITY_ORDER}
    for finding in findings:
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    return counts


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


def not_checked_lines(report: dict) -> list[str]:
    """report.json's coverage as one line per reason: "2 rules not checked on 3 collections:
    not authorised for $indexStats (DM403, ...)". Silence is never a pass."""
    by_reason: dict[str, tuple[set, set]] = {}
    for entry in report.get("coverage") or []:
        if entry.get("status") == "not_checked":
            rules, namespaces = by_reason.setdefault(entry["reason"], (set(), set()))
            rules.add(entry["rule"])
            namespaces.add(entry["namespace"])
    return [f"{len(rules)} rule{'s' * (len(rules) != 1)} not checked on {len(namespaces)} "
            f"collection{'s' * (len(namespaces) != 1)}: {reason} ({', '.join(sorted(rules))})"
            for reason, (rules, namespaces) in sorted(by_reason.items())]
