"""What several test modules share: running the CLI as a user would, in its own process, and
checking its reports against their schemas."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas" / "report.schema.json").read_text())
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas-ext" / "sarif-schema-2.1.0.json"


def run_cli(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """`nosql-advisor ARGS` in `cwd`, stdin not a terminal (as in CI); no traceback may reach stderr."""
    done = subprocess.run([sys.executable, "-m", "nosql_advisor", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)
    assert "Traceback" not in done.stderr, done.stderr
    return done


class TimedOut(BaseException):
    """`run_in_process` ran past its timeout: a hang fails the test instead of the suite (not an
    Exception, so the CLI's own `except Exception` cannot turn it into an exit code)."""


def _timed_out(signum, frame):
    raise TimedOut("the CLI ran past the test's timeout")


@contextlib.contextmanager
def stderr_as_in_a_process(stderr: io.StringIO):
    """Warnings and log records reach `stderr` as they would reach a fresh process's stderr
    (Python's default warning filters; logging's last-resort handler, WARNING and up), not
    pytest's capture: a password in a driver's warning must show in what the test reads."""
    root = logging.getLogger()
    handler = logging.StreamHandler(stderr)
    handler.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for action, category in (("ignore", DeprecationWarning), ("ignore", PendingDeprecationWarning),
                                 ("ignore", ImportWarning), ("ignore", ResourceWarning)):
            warnings.simplefilter(action, category)
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: stderr.write(
            warnings.formatwarning(message, category, filename, lineno, line))
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)


def run_in_process(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """`nosql-advisor ARGS` as `run_cli` runs it (cli.main: the same one-line errors and exit
    codes; cwd, stdin not a terminal, a fresh hash key, warnings and log records on stderr,
    `timeout` by SIGALRM) but inside this process, without Python's 1.5 s start-up. For tests
    about what the tool writes and answers; a test about the process itself (signals, a kill,
    start-up, memory, worker processes' keys) or about two runs giving the same output (each
    process has its own str hash seed) keeps `run_cli`."""
    from nosql_advisor import cli, interrupt, redact

    redact.new_run_key()  # each run hashes with its own key, as each process would
    stdout, stderr = io.StringIO(), io.StringIO()
    handlers = {signum: signal.getsignal(signum) for signum in interrupt.HANDLED}
    argv, stdin, before = sys.argv, sys.stdin, os.getcwd()
    sys.argv, sys.stdin = ["nosql-advisor", *args], io.TextIOWrapper(io.BytesIO(b""))
    os.chdir(cwd)
    alarm = signal.signal(signal.SIGALRM, _timed_out)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    code: int | str | None = 0
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr), stderr_as_in_a_process(stderr):
            try:
                cli.main()
            except SystemExit as done:
                code = done.code
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, alarm)
        sys.argv, sys.stdin = argv, stdin
        os.chdir(before)
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    returncode = code if isinstance(code, int) else (0 if code is None else 1)
    done = subprocess.CompletedProcess(list(args), returncode, stdout.getvalue(), stderr.getvalue())
    assert "Traceback" not in done.stderr, done.stderr
    return done


@contextlib.contextmanager
def throwaway(server):
    """A started server (demo.server.LocalServer) whose data nobody needs afterwards: killed at
    the end instead of shut down cleanly, which takes SecantusDB 2 s."""
    try:
        yield server
    finally:
        server.process.kill()
        server.stop()


def valid(report: dict) -> list[str]:
    """report.json's errors against schemas/report.schema.json (none: valid)."""
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(report)]


def sarif_errors(log: dict) -> list[str]:
    """A SARIF log's errors against the official 2.1.0 schema (in ../shared)."""
    schema = json.loads(SARIF_SCHEMA.read_text())
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]


def scanned_dump(tmp_path: Path, collections: dict[str, list[dict]], indexes: dict[str, list[dict]] | None = None,
                 database: str = "app"):
    """A mongodump of `database` (each collection with the _id index and its `indexes`), scanned."""
    import bson
    from bson import json_util

    from nosql_advisor.scan import ScanOptions, scan_sources

    folder = tmp_path / "dump" / database
    folder.mkdir(parents=True, exist_ok=True)
    for name, documents in collections.items():
        (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
        metadata = {"indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}] + (indexes or {}).get(name, []),
                    "options": {}}
        (folder / f"{name}.metadata.json").write_text(json_util.dumps(metadata))
    return scan_sources([str(tmp_path / "dump")], ScanOptions())
