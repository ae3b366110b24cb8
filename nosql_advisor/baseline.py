"""A baseline: findings a team has accepted, so CI fails only on new ones.

A finding is matched by rule, namespace and path (not by its message or figures, which change
from run to run while the problem stays the same one).
"""

from __future__ import annotations

import json
from pathlib import Path

from nosql_advisor.errors import InputError
from nosql_advisor.findings import Finding


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
    new = [f for f in findings if finding_key(f) not in accepted]
    return new, [f for f in findings if finding_key(f) in accepted]
