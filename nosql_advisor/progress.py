"""Progress bars on stderr (Rich), silent with --quiet or when stderr is not a terminal."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

STDERR = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Task:
    """Handle for one bar; every method is a no-op when progress is off."""

    progress: Progress | None
    task_id: int = 0

    def advance(self, amount: int) -> None:
        if self.progress is not None and amount:
            self.progress.advance(self.task_id, amount)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.remove_task(self.task_id)


class Reporter:
    """Makes `Task`s; use it as a context manager around the long work."""

    def __init__(self, enabled: bool | None = None) -> None:
        if enabled is None:
            enabled = STDERR.is_terminal
        self.progress: Progress | None = None
        if enabled:
            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=STDERR, transient=True,
            )

    def __enter__(self) -> Reporter:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()

    def task(self, description: str, total: int | None) -> Task:
        if self.progress is None:
            return Task(None)
        return Task(self.progress, self.progress.add_task(description, total=total))
