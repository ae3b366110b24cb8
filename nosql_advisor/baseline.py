"""A baseline: findings a team has accepted, so CI fails only on new ones.

A finding is matched by rule, namespace and path (not by its message or figures, which change
from run to run while the problem stays the same one).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from nosql_advisor.errors import InputError
from nosql_advisor.findings import Finding
from nosql_advisor.report.format import namespaces_of


def finding_key(finding: Finding) -> tuple[str, str, str]:
    return (finding.rule, finding.namespace, finding.path or "")


def load_baseline(path: Path) -> set[tuple[str, str, str]]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["accepted"]
        return {(e["rule"], e["namespace"], e.get("path") or "") for e in entries}
    except FileNotFoundError:
        raise InputError(f"{path}: baseline file not found (write one with scan --write-baseline)") from None
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(f"{path}: not a baseline file ({error})") from None


def write_baseline(path: Path, findings: list[Finding]) -> None:
    from nosql_advisor.report.output_folder import replace_file

    accepted = sorted({finding_key(f) for f in findings})
    document = {"accepted": [{"rule": r, "namespace": n, "path": p or None} for r, n, p in accepted]}
    try:
        replace_file(path, json.dumps(document, indent=2) + "\n")
    except OSError as error:
        raise InputError(f"{path}: cannot write the baseline ({error.strerror})") from None


def split_baseline(findings: list[Finding], accepted: set) -> tuple[list[Finding], list[Finding]]:
    """(new findings, findings the baseline accepts)."""
    families = family_entries(accepted)
    held = [f for f in findings if is_accepted(f, accepted, families)]
    return [f for f in findings if not is_accepted(f, accepted, families)], held


def family_entries(accepted: set) -> list[tuple[str, re.Pattern, str]]:
    """(rule, the members' pattern, path) of each baseline entry on a family glob: `shop.events_t_*`
    holds `shop.events_t_0001`, `t_*.orders` holds `t_0001.orders` (the `*` stands for the digits
    the members differ by, rules/scale.py's name_patterns)."""
    return [(rule, re.compile(re.escape(glob).replace(r"\*", r"\d+")), path)
            for rule, glob, path in accepted if "*" in glob]


def is_accepted(finding: Finding, accepted: set, families: list[tuple[str, re.Pattern, str]]) -> bool:
    """Whether the baseline accepts the finding: its own key, or across family grouping
    (rules/families.py) either way. A baseline written before grouping holds one entry per
    collection: it accepts the family finding when every member has an entry of the same rule
    and path. A baseline holding the family (its glob) accepts a member's own finding of that
    rule and path, when the family has shrunk below its size or was not grouped this time."""
    if finding_key(finding) in accepted:
        return True
    members = namespaces_of({"namespace": finding.namespace, "evidence": finding.evidence})
    if members != [finding.namespace]:
        return all((finding.rule, member, finding.path or "") in accepted for member in members)
    return any(rule == finding.rule and path == (finding.path or "") and pattern.fullmatch(finding.namespace)
               for rule, pattern, path in families)
