"""SIGINT and SIGTERM stop a run within two seconds, say so once, and exit 130 / 143.

Both signals become a KeyboardInterrupt in the main thread, so every `finally` on the way out
runs: worker processes are stopped (parallel.py), the half-written output folder is removed
(report/output_folder.py), clients are closed. A KeyboardInterrupt cannot be swallowed by an
`except Exception`, and it breaks out of a blocked queue, socket or event loop wait. Should the
way out itself hang (a driver closing sockets to a server that no longer answers), a watchdog
started by the first signal runs the registered cleanups and ends the process after
`GRACE_SECONDS`. Later signals only wait for that: a second Ctrl-C must not cut a cleanup short.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HANDLED = (signal.SIGINT, signal.SIGTERM)
GRACE_SECONDS = 1.5

received: list[int] = []  # the signals seen, first first
_raised: list[bool] = []  # the KeyboardInterrupt of the first signal was raised
_deferring: list[bool] = []  # inside `deferred()`: the first signal waits for its end
_cleanups: dict[int, Callable[[], None]] = {}  # what the watchdog undoes before a hard exit
_said = threading.Lock()


def install() -> None:
    """Handle SIGINT and SIGTERM in this (main) process."""
    for signum in HANDLED:
        signal.signal(signum, _on_signal)


def reset_in_child() -> None:
    """In a worker process: ignore SIGINT (the parent decides: a Ctrl-C reaches the whole process
    group) and die at once on SIGTERM (what the parent sends to stop it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    received.clear()
    _raised.clear()
    _deferring.clear()
    _cleanups.clear()


def _on_signal(signum: int, frame) -> None:
    received.append(signum)
    if len(received) > 1:
        return  # already stopping; the watchdog bounds how long
    threading.Thread(target=_watchdog, name="interrupt-watchdog", daemon=True).start()
    if not _deferring:
        _raised.append(True)
        raise KeyboardInterrupt(signal.Signals(signum).name)


def exit_code() -> int:
    """128 + the signal number: 130 for SIGINT (also a KeyboardInterrupt with no signal seen),
    143 for SIGTERM."""
    return 128 + (received[0] if received else signal.SIGINT)


def message() -> str:
    name = signal.Signals(received[0]).name if received else "SIGINT"
    return f"interrupted: {name} received; the run stopped and left no partial output"


def say_once() -> bool:
    """Print the one `interrupted: ...` line unless it was printed already; True when printed."""
    if not _said.acquire(blocking=False):
        return False
    print(message(), file=sys.stderr, flush=True)
    return True


@contextmanager
def deferred() -> Iterator[None]:
    """Hold an interrupt back during a few renames that must not be cut in two; a signal that
    came meanwhile is raised right after them."""
    _deferring.append(True)
    try:
        yield
    finally:
        _deferring.pop()
    if received and not _deferring and not _raised:
        _raised.append(True)
        raise KeyboardInterrupt(signal.Signals(received[0]).name)


def exit_now() -> None:
    """End the process with `exit_code()` once the way out has run: the atexit handlers run and
    the streams are flushed, but the interpreter's teardown (a second or more after a large
    scan, freeing every object) is skipped, so the two seconds hold."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(exit_code())


def on_hard_exit(key: int, cleanup: Callable[[], None]) -> None:
    """Register what must be undone even if the way out hangs (a temporary folder to remove)."""
    _cleanups[key] = cleanup


def forget(key: int) -> None:
    _cleanups.pop(key, None)


def _watchdog() -> None:
    threading.Event().wait(GRACE_SECONDS)
    for child in multiprocessing.active_children():
        child.kill()
    for cleanup in list(_cleanups.values()):
        try:
            cleanup()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
    say_once()
    os._exit(exit_code())
