"""Errors that end a run, each with the exit code DESIGN.md gives it.

Problems that do not end a run (a bad line in an export, a truncated dump file) are
`Problem`s collected in the result instead: the run goes on and reports them.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_CONNECT = 3


class AdvisorError(Exception):
    """An error a user can act on; its message is one line naming the file, line or namespace."""

    exit_code = EXIT_USAGE


class InputError(AdvisorError):
    """Bad usage or bad input (exit 2)."""

    exit_code = EXIT_USAGE


class ConnectError(AdvisorError):
    """Could not connect, or not authorised (exit 3)."""

    exit_code = EXIT_CONNECT


@dataclass(frozen=True)
class Problem:
    """Something skipped or cut short that did not stop the run.

    `where` names the file and line (`dump/shop/orders.json:17`), the file and byte offset,
    or the namespace; `message` says what happened and what was done about it. `exit_code` is
    what the run ends with once it completes: 2 for bad input, 3 for a source that could not
    be reached, 0 for a note (an empty collection, a capped shape).
    """

    where: str
    message: str
    exit_code: int = EXIT_USAGE

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"
