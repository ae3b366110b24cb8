"""The CI gate: which findings fail a scan given `--fail-on SEVERITY` (DESIGN.md exit codes).

Only `findings` count: findings a baseline accepts or the configuration ignores are kept out of
that list by advise(), so with a baseline only new findings fail the build.
"""

from __future__ import annotations

from nosql_advisor.errors import EXIT_FINDINGS, EXIT_OK
from nosql_advisor.findings import SEVERITIES


def failing(findings: list[dict], fail_on: str | None) -> list[dict]:
    """The findings at or above `fail_on` (None: the gate is off)."""
    if fail_on is None:
        return []
    floor = SEVERITIES.index(fail_on)
    return [f for f in findings if SEVERITIES.index(f["severity"]) >= floor]


def gate_exit_code(findings: list[dict], fail_on: str | None, input_code: int = EXIT_OK) -> int:
    """Bad input (2) and no connection (3) win over failing findings (1), which win over 0."""
    return max(input_code, EXIT_FINDINGS if failing(findings, fail_on) else EXIT_OK)
