"""`scripts/bench memory`: peak RSS and wall time of the CLI on inputs built to exhaust memory.

Five files are generated in a temporary folder (removed afterwards): an NDJSON export holding
one 200 MB line, one holding a 600 MB line, a mongod log holding a 200 MB line, an NDJSON export
of a million bad lines and a mongod log of a million bad (cut short) slow-query lines. Each file
is read by `nosql-advisor shape` or `queries --log` as a user runs it, in its own process; its
peak RSS is the kernel's (os.wait4: the largest of that process and the worker processes it
waited for). The figures the issue measured before the readers were bounded are printed beside
them; `--against DIR` runs the same cases with another checkout of the package (for example
`git archive HEAD~3 | tar -x -C /tmp/before`) in the same run, for a before/after on this machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MB = 1 << 20
PIECE = b"x" * MB
# what issue 10 measured before the readers were bounded (MB); None: not measured there
ISSUE_MB = {"ndjson-200mb-line": 652, "ndjson-600mb-line": 1850, "log-200mb-line": 445,
            "ndjson-1m-bad-lines": 365, "log-1m-bad-lines": None}
GOOD_DOCUMENT = b'{"_id": 1, "tenant_id": "t1", "status": "paid", "total": 12.5}\n'
SLOW_LINE = (b'{"t":{"$date":"2026-03-01T00:00:00.000+00:00"},"s":"I","c":"COMMAND","id":51803,"ctx":"conn1",'
             b'"msg":"Slow query","attr":{"type":"command","ns":"shop.orders","command":{"find":"orders",'
             b'"filter":{"tenant_id":"t1"}},"planSummary":"COLLSCAN","docsExamined":500,"durationMillis":120}}\n')
BAD_LOG_LINE = b'{"t":{"$date":"2026-03-01T00:00:00Z"},"s":"I","id":51803,"msg":"Slow query","attr":{"ns":"shop.o\n'
BAD_NDJSON_LINE = b'{"_id": 7, "status": "paid", "total": \n'


def long_line(handle, prefix: bytes, megabytes: int, suffix: bytes) -> None:
    """One line of `megabytes` MB, written a megabyte at a time (never held whole)."""
    handle.write(prefix)
    for _ in range(megabytes):
        handle.write(PIECE)
    handle.write(suffix)


def make_inputs(folder: Path) -> list[tuple[str, list[str], Path]]:
    """(case name, CLI arguments, the file) for each case, the files written into `folder`."""
    data = folder / "bench"
    data.mkdir()
    cases = []
    for megabytes in (200, 600):
        path = data / f"long{megabytes}.json"
        with open(path, "wb") as handle:
            handle.write(GOOD_DOCUMENT * 10)
            long_line(handle, b'{"_id": 2, "blob": "', megabytes, b'"}\n')
            handle.write(GOOD_DOCUMENT * 10)
        cases.append((f"ndjson-{megabytes}mb-line", ["shape", str(path)], path))
    path = data / "long200.log"
    with open(path, "wb") as handle:
        handle.write(SLOW_LINE * 10)
        long_line(handle, SLOW_LINE[:-3] + b',"x":"', 200, b'"}}\n')
        handle.write(SLOW_LINE * 10)
    cases.append(("log-200mb-line", ["queries", "--log", str(path)], path))
    path = data / "bad.json"
    with open(path, "wb") as handle:
        handle.write(GOOD_DOCUMENT + BAD_NDJSON_LINE * 1_000_000)
    cases.append(("ndjson-1m-bad-lines", ["shape", str(path)], path))
    path = data / "bad.log"
    with open(path, "wb") as handle:
        handle.write(SLOW_LINE + BAD_LOG_LINE * 1_000_000)
    cases.append(("log-1m-bad-lines", ["queries", "--log", str(path)], path))
    return cases


# Linux counts a process's peak RSS from before its exec: a child forked from a large process
# starts "at" that size. So the CLI is started by this small launcher, freshly exec'd, which
# forks it, waits for it (os.wait4: the largest of the CLI and the workers it waited for) and
# writes `exit code, peak KB` to the file named first.
LAUNCHER = """import os, subprocess, sys
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
open(sys.argv[1], "w").write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def run_case(arguments: list[str], package: Path | None, cwd: Path) -> dict:
    """The CLI on one case in its own process: exit code, seconds, peak RSS in MB, first stderr
    line. It runs in `cwd` (not this checkout: `python -m` would import the package there first)."""
    environment = dict(os.environ)
    if package is not None:
        environment["PYTHONPATH"] = str(package)
    measured = cwd / "measured.txt"
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", LAUNCHER, str(measured), sys.executable, "-m", "nosql_advisor",
                        *arguments], stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                       env=environment, cwd=cwd)
        seconds = time.perf_counter() - started
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    code, peak_kb = measured.read_text().split()
    return {"exit": int(code), "seconds": seconds, "peak_mb": int(peak_kb) / 1024, "said": (lines[0] if lines else "")[:110]}


def memory_bench(args) -> None:
    against = Path(args.against).resolve() if args.against else None
    with tempfile.TemporaryDirectory(dir=args.work) as folder:
        print(f"generating the inputs in {folder} (about 1.2 GB) ...", file=sys.stderr)
        cases = [case for case in make_inputs(Path(folder)) if not args.only or args.only in case[0]]
        rows = []
        for name, arguments, path in cases:
            print(f"running {name} ...", file=sys.stderr)
            before = run_case(arguments, against, Path(folder)) if against else None
            rows.append((name, path.stat().st_size, run_case(arguments, None, Path(folder)), before))
    print_table(rows, against)


def print_table(rows, against: Path | None) -> None:
    print(f"\nmemory on hostile inputs, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores (peak RSS of the largest process)\n")
    extra = f" {'before MB':>9} {'before s':>8}" if against else ""
    print(f"{'case':22} {'file MB':>8} {'exit':>4} {'seconds':>8} {'peak MB':>8} {'issue MB':>8}{extra}  first line on stderr")
    for name, size, now, before in rows:
        issue = ISSUE_MB[name]
        then = f" {before['peak_mb']:>9.0f} {before['seconds']:>8.1f}" if before else ""
        print(f"{name:22} {size / MB:>8.0f} {now['exit']:>4} {now['seconds']:>8.1f} {now['peak_mb']:>8.0f} "
              f"{issue if issue else '-':>8}{then}  {now['said']}")
    if against:
        print(f"\nbefore: the same cases run with the package in {against}")
