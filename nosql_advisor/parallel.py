"""Reading one large file with several processes: the file source's business (filesource.py).

The main process only finds where whole records end (BSON length prefixes, newlines) and deals
the file out in batches of about a megabyte; for a plain file a batch is just an offset and a
length, and the worker reads the bytes itself, so next to nothing crosses between processes
and the main process leaves the cores to the workers. (A gzip stream can only be read from its
start: its batches carry the bytes.) Each worker makes its batches raw batches (the source's
`to_raw`) and feeds them to a fresh Intake of the scan's kind (`intake.fresh()`: a builder of the
same engine, new_builder, and the validation tally), and the main process merges them into the
scan's intake at the end. Every accumulator merges exactly (counts, histograms, k-smallest
hashes), so the shape is the one a single process gives; batches go to workers in a fixed
rotation, so runs repeat.

Workers never outlive the run: they ignore SIGINT (a Ctrl-C reaches the whole process group;
the main process decides), die on the SIGTERM the main process sends when it stops early (an
interrupt, an error), and on Linux the kernel kills them should the main process die first.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import queue
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from nosql_advisor import interrupt, redact
from nosql_advisor.errors import AdvisorError, Problem
from nosql_advisor.sources.base import Intake, RawBatch
from nosql_advisor.sources.files import Batch

PARALLEL_MIN_BYTES = 8 << 20  # below this, starting processes costs more than it saves
STOP_SECONDS = 0.5  # a stopped worker gets this long to go before it is killed
PR_SET_PDEATHSIG = 1


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def in_parallel(path: Path, workers: int) -> bool:
    """Whether a file read whole goes to several processes: more than one asked for, and large
    enough (a sample smaller than the file goes through the reservoir, in one process)."""
    return workers > 1 and path.stat().st_size >= PARALLEL_MIN_BYTES


def infer_in_workers(batches: Iterator[Batch], to_raw: Callable[[Batch, bytes, Path], RawBatch], path: Path,
                     intake: Intake, workers: int, problems: list[Problem]) -> int:
    """Deal `batches` to `workers` processes, each feeding a fresh copy of `intake`; their
    intakes are merged into `intake`, their problems go to `problems` in file order. Returns
    the number of records the file held."""
    context = _context()
    inboxes = [context.Queue(maxsize=4) for _ in range(workers)]
    results = context.Queue()
    processes = [context.Process(target=_work, daemon=True,
                                 args=(index, inboxes[index], results, to_raw, path, intake,
                                       os.getpid(), redact.run_key()))
                 for index in range(workers)]
    plain = not path.name.endswith(".gz")
    try:
        for process in processes:
            process.start()
        for batch in batches:
            inboxes[batch.number % workers].put(replace(batch, data=None) if plain else batch)
        for inbox in inboxes:
            inbox.put(None)
        parts = sorted(_collect(results, processes), key=lambda part: part[0])
    except BaseException:
        _stop(processes, inboxes)
        raise
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
    merged = parts[0][1]
    for _, other, _, _ in parts[1:]:
        merged.merge(other)
    intake.adopt(merged)
    found = sorted((p for part in parts for p in part[2]), key=lambda item: item[0])
    problems.extend(problem for _, problem in found)
    return sum(part[3] for part in parts)


def _collect(results, processes) -> list:
    parts = []
    while len(parts) < len(processes):
        try:
            parts.append(results.get(timeout=1))
        except queue.Empty:
            if all(p.exitcode is not None for p in processes):  # all gone, a result missing
                codes = sorted({p.exitcode for p in processes})
                raise AdvisorError(f"internal error: a reader process ended without its result "
                                   f"(exit codes {codes})") from None
    return parts


def _stop(processes, inboxes) -> None:
    """End every worker now (SIGTERM, then SIGKILL): the run is stopping early. The queues'
    buffered batches are dropped instead of waiting for a reader that is gone."""
    for inbox in inboxes:
        inbox.cancel_join_thread()
    started = [process for process in processes if process.pid is not None]
    for process in started:
        if process.is_alive():
            process.terminate()
    for process in started:
        process.join(timeout=STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join(timeout=STOP_SECONDS)


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the main process dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass


def _work(index, inbox, results, to_raw, path, template: Intake, parent: int, run_key: bytes) -> None:
    interrupt.reset_in_child()
    redact.use_run_key(run_key)  # the run's fingerprint key, also under spawn (fork inherits it anyway)
    _die_with_parent()
    if os.getppid() != parent:  # the main process died before the kernel was asked
        os._exit(1)
    intake = template.fresh()  # the builder made here, by new_builder: the same engine in every process
    found: list = []
    records = 0
    with open(path, "rb") as handle:
        while (batch := inbox.get()) is not None:
            data = batch.data if batch.data is not None else os.pread(handle.fileno(), batch.length, batch.offset)
            raw = to_raw(batch, data, path)
            records += raw.records
            problems: list[Problem] = []  # past the cap counted (Omitted), not kept: a bounded list goes back
            intake.feed(raw).hand_to(problems)
            found.extend(((batch.number, order), problem) for order, problem in enumerate(problems))
    intake.flush()
    results.put((index, intake, found, records))
