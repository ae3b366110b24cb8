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
EXIT_INCOMPLETE = 4  # a collection could not be read to the end: the report says which and why


class AdvisorError(Exception):
    """An error a user can act on; its message is one line naming the file, line or namespace."""

    exit_code = EXIT_USAGE


class InputError(AdvisorError):
    """Bad usage or bad input (exit 2)."""

    exit_code = EXIT_USAGE


class ConnectError(AdvisorError):
    """Could not connect, or not authorised (exit 3)."""

    exit_code = EXIT_CONNECT


class IncompleteError(AdvisorError):
    """A collection could not be read to the end (exit 4): it is reported as incomplete,
    dropped or timed out, and the rest of the report is whole."""

    exit_code = EXIT_INCOMPLETE


@dataclass(frozen=True)
class Problem:
    """Something skipped or cut short that did not stop the run.

    `where` names the file and line (`dump/shop/orders.json:17`), the file and byte offset,
    or the namespace; `message` says what happened and what was done about it. `exit_code` is
    what the run ends with once it completes: 2 for bad input, 3 for a source that could not
    be reached, 4 for a collection read only in part, 0 for a note (an empty collection, a capped shape).
    """

    where: str
    message: str
    exit_code: int = EXIT_USAGE

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


# -- a bounded list of problems ----------------------------------------------------------

PROBLEMS_KEPT_PER_FILE = 100  # per file (or namespace): the rest are counted, not kept


def place_of(where: str) -> str:
    """The file or namespace a problem's `where` names, without its `:line` or `@offset`
    (`dump/shop/orders.json:17` -> `dump/shop/orders.json`)."""
    head, colon, tail = where.rpartition(":")
    place = head if colon and tail.isdigit() else where
    head, at, tail = place.rpartition("@")
    return head if at and tail.isdigit() else place


@dataclass(frozen=True)
class Omitted(Problem):
    """Stands for `count` problems of one place that were counted but not kept: what a worker
    process or a batch decoder hands back instead of the problems themselves."""

    count: int = 0
    errors: int = 0  # how many of them were errors (exit code > 0), not notes


class ProblemList(list):
    """A list of problems that keeps the first `limit` of each place and counts the rest, so a
    file of a million bad lines holds a hundred Problems and one number, not a million Problems.

    A problem whose exit code is higher than any kept for its place is always kept (at most one
    per exit code), so the run's exit code is the same as if every problem had been kept.
    Extending it with another ProblemList (or with `Omitted` entries) adds their counts."""

    def __init__(self, problems=(), limit: int = PROBLEMS_KEPT_PER_FILE) -> None:
        super().__init__()
        self.limit = limit
        self.kept: dict[str, int] = {}
        self.omitted: dict[str, int] = {}
        self.omitted_errors: dict[str, int] = {}
        self.highest: dict[str, int] = {}  # the highest exit code kept, per place
        self.extend(problems)

    def append(self, problem: Problem) -> None:
        place = place_of(problem.where)
        if isinstance(problem, Omitted):
            self._omit(place, problem.count, problem.errors)
            return
        kept, highest = self.kept.get(place, 0), self.highest.get(place, -1)
        if kept >= self.limit and problem.exit_code <= highest:
            self._omit(place, 1, 1 if problem.exit_code else 0)
            return
        self.kept[place] = kept + 1
        self.highest[place] = max(highest, problem.exit_code)
        super().append(problem)

    def extend(self, problems) -> None:
        for problem in problems:
            self.append(problem)
        if isinstance(problems, ProblemList):
            for place, count in problems.omitted.items():
                self._omit(place, count, problems.omitted_errors.get(place, 0))

    def __iadd__(self, problems):
        self.extend(problems)
        return self

    def counted(self, place: str) -> int:
        """Every problem of `place` this list was given, kept or not."""
        return self.kept.get(place, 0) + self.omitted.get(place, 0)

    def omitted_total(self) -> int:
        return sum(self.omitted.values())

    def summaries(self) -> list[Omitted]:
        """The counts of what was not kept, as entries another ProblemList adds up."""
        return [Omitted(place, f"{count} more problems counted, not kept", EXIT_OK, count,
                        self.omitted_errors.get(place, 0)) for place, count in self.omitted.items()]

    def hand_to(self, target: list) -> None:
        """Add these problems and counts to `target`: a ProblemList adds the counts itself; a
        plain list (a worker process's) gets them as `Omitted` entries."""
        target.extend(self)
        if not isinstance(target, ProblemList):
            target.extend(self.summaries())

    def _omit(self, place: str, count: int, errors: int) -> None:
        self.omitted[place] = self.omitted.get(place, 0) + count
        self.omitted_errors[place] = self.omitted_errors.get(place, 0) + errors

    def __reduce__(self):
        return (_rebuilt, (list(self), self.limit, self.kept, self.omitted, self.omitted_errors, self.highest))


def _rebuilt(items, limit, kept, omitted, omitted_errors, highest) -> ProblemList:
    problems = ProblemList(limit=limit)
    list.extend(problems, items)
    problems.kept, problems.omitted, problems.highest = dict(kept), dict(omitted), dict(highest)
    problems.omitted_errors = dict(omitted_errors)
    return problems


def error_count(problems: list[Problem]) -> int:
    """Errors (exit code > 0) among `problems`, the ones counted past a ProblemList's cap included."""
    kept = sum(1 for problem in problems if problem.exit_code and not isinstance(problem, Omitted))
    passed = sum(p.errors for p in problems if isinstance(p, Omitted))
    if isinstance(problems, ProblemList):
        passed += sum(problems.omitted_errors.values())
    return kept + passed
