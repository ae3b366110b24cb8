"""A finding: one rule's verdict on one namespace (and path), with the numbers behind it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass
class Finding:
    rule: str  # DESIGN.md id, e.g. "DM503"
    severity: str  # one of SEVERITIES
    namespace: str
    path: str | None
    message: str  # one sentence a person can act on
    evidence: dict = field(default_factory=dict)  # the figures that prove it: counts, shares, examples' _id
    recommendation: str = ""

    def sort_key(self) -> tuple:
        return (self.namespace, self.rule, self.path or "")

    def to_dict(self) -> dict:
        data = asdict(self)
        from nosql_advisor.rules import page_path  # late: the rules package imports Finding

        data["docs"] = page_path(self.rule)
        return data


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    """DESIGN.md's order: namespace, then rule, then path, so reports diff clean."""
    return sorted(findings, key=Finding.sort_key)
