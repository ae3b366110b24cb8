"""The workload: profiler documents and slow-query log lines, grouped into query shapes, held
against the indexes (workload/indexes.py) by the workload rules (rules/workload.py)."""

from __future__ import annotations

from pathlib import Path

from nosql_advisor.redact import resolve_source
from nosql_advisor.sources.base import Selection
from nosql_advisor.sources.live import is_uri
from nosql_advisor.workload.logs import MAX_LINE_BYTES, read_logs
from nosql_advisor.workload.profile import read_profile_file, read_profile_live
from nosql_advisor.workload.shapes import Operation, ShapeStats, Workload

__all__ = ["Operation", "ShapeStats", "Workload", "read_workload"]


def read_workload(profiles: list[str] = (), logs: list[Path] = (), selection: Selection = Selection(),
                  max_time_ms: int = 60_000, workers: int = 1, max_line_bytes: int | None = None) -> Workload:
    """Every --profile (a mongodb:// URI or an exported file) and every --log, as one workload
    (a large plain log is read by `workers` processes). No line of a file is held past
    `max_line_bytes` (default: 17 MiB for a log line, the export reader's cap for a profile
    export): a longer one is skipped and named."""
    workload = Workload()
    for spec in map(resolve_source, profiles):  # env:NAME, file:PATH (redact.py)
        if is_uri(spec):
            read_profile_live(spec, workload, selection, max_time_ms)
        else:
            read_profile_file(Path(spec), workload, selection, max_line_bytes)
    read_logs([Path(p) for p in logs], selection, workload, workers, max_line_bytes or MAX_LINE_BYTES)
    return workload
