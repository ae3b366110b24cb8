"""Workload files that are not what they claim to be, or are damaged: over-long lines, binary
files, empty files, a flood of bad lines, gzip damage, exports that are not a profile. Every input
is built here; the CLI runs as a user runs it (`queries --log` / `--profile`), never with a
traceback, with one line naming the file and the documented exit code."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys

from helpers import run_in_process
from nosql_advisor.errors import Omitted
from nosql_advisor.workload import logs, read_workload

CAP = 1 << 20  # a lowered line cap (the default is 17 MiB), passed as an argument


def slow_line(collection: str = "orders", tenant: str = "t1", millis: int = 120) -> str:
    """A 4.4+ "Slow query" entry as mongod writes it."""
    return json.dumps({"t": {"$date": "2024-01-01T00:00:00.000+00:00"}, "s": "I", "c": "COMMAND", "id": 51803,
                       "ctx": "conn1", "msg": "Slow query",
                       "attr": {"type": "command", "ns": f"shop.{collection}",
                                "command": {"find": collection, "filter": {"tenant_id": tenant}},
                                "planSummary": "COLLSCAN", "docsExamined": 500, "nreturned": 1,
                                "durationMillis": millis}}, separators=(",", ":"))


def chatter_line(number: int) -> str:
    return json.dumps({"t": {"$date": "2024-01-01T00:00:00.000+00:00"}, "s": "I", "c": "NETWORK", "id": 22943,
                       "ctx": "listener", "msg": "Connection accepted", "attr": {"connectionId": number}},
                      separators=(",", ":"))


def text_slow_line(tenant: str, millis: int) -> str:
    """A slow find in the text log of 4.0."""
    return (f'2019-06-18T11:59:16.516+0100 I COMMAND  [conn1] command shop.orders appName: "x" command: find '
            f'{{ find: "orders", filter: {{ tenant_id: "{tenant}" }}, $db: "shop" }} planSummary: COLLSCAN '
            f"keysExamined:0 docsExamined:4000 nreturned:2 reslen:1 locks:{{}} protocol:op_msg {millis}ms")


def long_json_line(size: int) -> str:
    """A line of `size` bytes that starts like a log entry (a huge attribute), newline excluded."""
    head = '{"t":{"$date":"2024-01-01T00:00:00.000+00:00"},"s":"I","c":"COMMAND","id":51803,"msg":"Slow query","attr":{"x":"'
    return head + "y" * (size - len(head) - 3) + '"}}'


def write_lines(path, lines: list[str]):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def run_clis(*calls: tuple[str, ...], cwd) -> list[subprocess.CompletedProcess]:
    """Several independent CLI runs, one after the other in this process (cli.main), results in
    order."""
    return [run_in_process(*args, cwd=cwd) for args in calls]


def operations(workload) -> int:
    return sum(stats.count for stats in workload.shapes.values())


# -- over-long lines --------------------------------------------------------------------------

def test_an_over_long_line_is_skipped_and_named_with_its_length_and_the_rest_is_read(tmp_path):
    long = long_json_line(3 * CAP)
    for name in ("mongod.log", "mongod.log.gz"):
        path = write_lines(tmp_path / name, [slow_line(tenant="a"), long, slow_line(tenant="b"), chatter_line(4)])
        workload = read_workload(logs=[path], max_line_bytes=CAP)
        assert operations(workload) == 2, name
        [problem] = workload.problems
        assert problem.where == f"{path}:2" and problem.exit_code == 0
        assert f"{len(long) + 1:,} bytes" in problem.message and f"{CAP:,}-byte cap" in problem.message
        assert workload.sources[0]["lines"] == 4 and workload.sources[0]["too_long"] == 1


def test_a_line_just_under_the_cap_is_read_and_one_byte_more_is_not(tmp_path):
    fits = slow_line(tenant="x" * (CAP - len(slow_line(tenant=""))))
    assert len(fits) == CAP
    over = slow_line(tenant="x" * (CAP + 1 - len(slow_line(tenant=""))))
    path = write_lines(tmp_path / "edge.log", [fits, over])
    workload = read_workload(logs=[path], max_line_bytes=CAP)
    assert operations(workload) == 1
    assert [p.where for p in workload.problems] == [f"{path}:2"]


def test_over_long_lines_across_the_byte_ranges_of_workers_give_what_one_process_gives(tmp_path, monkeypatch):
    lines, long_at = [], (37, 201, 202, 350)
    for number in range(400):
        if number in long_at:
            lines.append(long_json_line(CAP + 5_000 * number))
        elif number % 3 == 0:
            lines.append(slow_line(tenant=f"t{number % 5}", millis=number))
        else:
            lines.append(chatter_line(number))
    path = write_lines(tmp_path / "big.log", lines)
    one = read_workload(logs=[path], max_line_bytes=CAP)
    monkeypatch.setattr(logs, "PARALLEL_MIN_BYTES", 0)
    three = read_workload(logs=[path], max_line_bytes=CAP, workers=3)
    assert [p.where for p in one.problems] == [f"{path}:{n + 1}" for n in long_at]
    assert [str(p) for p in three.problems] == [str(p) for p in one.problems]
    assert three.sources == one.sources and one.sources[0]["lines"] == 400
    assert operations(three) == operations(one) == len([n for n in range(0, 400, 3) if n not in long_at])


# Linux counts a process's peak RSS from before its exec, so a child forked from pytest (large)
# would start at pytest's size: the CLI is forked by this small launcher, freshly exec'd, which
# waits for it and writes its exit code and peak RSS (KB) to the file named first.
LAUNCHER = """import os, subprocess, sys
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
open(sys.argv[1], "w").write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def peak_rss_mb(*args: str, cwd) -> tuple[float, subprocess.CompletedProcess]:
    """The CLI in its own process, and that process's peak RSS in MB (the kernel's, os.wait4)."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, "measured.txt", sys.executable, "-m", "nosql_advisor",
                           *args], capture_output=True, text=True, cwd=cwd, stdin=subprocess.DEVNULL, timeout=300)
    assert "Traceback" not in done.stderr, done.stderr
    code, peak_kb = (cwd / "measured.txt").read_text().split()
    done.returncode = int(code)
    return int(peak_kb) / 1024, done


def test_a_line_far_over_the_default_cap_keeps_memory_bounded(tmp_path):
    size = 80 << 20  # 80 MB: holding it would take at least that much
    small = write_lines(tmp_path / "small.log", [slow_line(), chatter_line(1)])
    big = tmp_path / "big.log"
    with open(big, "w") as handle:
        handle.write(slow_line() + "\n" + long_json_line(size) + "\n" + chatter_line(1) + "\n")
    baseline, _ = peak_rss_mb("queries", "--log", str(small), "--workers", "1", cwd=tmp_path)
    peak, done = peak_rss_mb("queries", "--log", str(big), "--workers", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"big.log:2: line of {size + 1:,} bytes" in done.stderr
    # reading up to the 17 MiB cap (readline joins its pieces: twice that, briefly), never the 80 MB
    assert peak - baseline < 50, (peak, baseline)


# -- files that hold no log line ------------------------------------------------------------

def binary_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def test_files_that_hold_no_log_line_are_bad_input_in_one_line(tmp_path):
    export = "\n".join(json.dumps({"_id": {"$oid": f"{n:024x}"}, "t": n, "msg": "hello", "ms": "12ms"})
                       for n in range(50))
    files = {
        "random.bin": binary_bytes(300_000, 1),
        "report.pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + binary_bytes(20_000, 2),
        "orders.json": export.encode() + b"\n",
        "saved-log-lines.json": b"".join(json.dumps({"line": text_slow_line("t1", 5)}).encode() + b"\n"
                                         for _ in range(10)),  # documents that hold log text
        "random.log.gz": gzip.compress(binary_bytes(100_000, 3)),
        "not-gzip.log.gz": binary_bytes(5_000, 4),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    runs = run_clis(*[("queries", "--log", name, "-q") for name in files], cwd=tmp_path)
    for name, done in zip(files, runs):
        assert done.returncode == 2, (name, done.stderr)
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and errors[0].startswith(f"error: {name}: ") and "mongod log line" in errors[0], \
            (name, done.stderr)


def test_an_empty_log_is_bad_input(tmp_path):
    (tmp_path / "empty.log").write_bytes(b"")
    with gzip.open(tmp_path / "empty.log.gz", "wb"):
        pass
    names = ("empty.log", "empty.log.gz")
    for name, done in zip(names, run_clis(*[("queries", "--log", name, "-q") for name in names], cwd=tmp_path)):
        assert done.returncode == 2
        assert f"error: {name}: holds no mongod log line (the file is empty)" in done.stderr


def test_a_log_without_slow_operations_is_a_note_and_exit_0(tmp_path):
    write_lines(tmp_path / "quiet.log", [chatter_line(n) for n in range(30)])
    write_lines(tmp_path / "quiet-text.log", [
        "2014-04-09T23:16:20.437-0400 [initandlisten] MongoDB starting : pid=4037 port=27019",
        "Wed Mar  5 17:14:24.619 [initandlisten] db version v2.4.9",
        "2019-06-18T11:58:58.382+0100 I CONTROL  [main] Automatically disabling TLS 1.0"])
    write_lines(tmp_path / "syslog.log", [f"Dec  1 20:00:01 db1 mongod[42]: {chatter_line(1)}",
                                          "Dec  1 20:00:02 db1 mongod[42]: 2019-06-18T11:58:58.382+0100 I NETWORK  [conn1] end"])
    expected = (("quiet.log", 30), ("quiet-text.log", 3), ("syslog.log", 2))
    for (name, lines), done in zip(expected, run_clis(*[("queries", "--log", name) for name, _ in expected], cwd=tmp_path)):
        assert done.returncode == 0, done.stderr
        assert f"note: {name}: no slow operation in its {lines} log lines" in done.stderr
        assert "error:" not in done.stderr


def test_a_log_among_bad_files_is_still_read(tmp_path):
    write_lines(tmp_path / "mongod.log", [slow_line(tenant="a"), slow_line(tenant="b")])
    (tmp_path / "random.bin").write_bytes(binary_bytes(10_000, 5))
    done = run_in_process("queries", "--log", "random.bin", "--log", "mongod.log", "--json", "-q", cwd=tmp_path)
    assert done.returncode == 2 and "error: random.bin: holds no mongod log line" in done.stderr
    assert json.loads(done.stdout)["shapes"][0]["count"] == 2


# -- a flood of bad lines ---------------------------------------------------------------------

def test_a_flood_of_bad_lines_keeps_a_bounded_number_of_problems_with_the_right_count(tmp_path):
    """2,000 times MAX_PROBLEMS bad lines: the list stops at the bound and the count goes on."""
    bad = '{"t":{"$date":"2024-01-01T00:00:00Z"},"s":"I","id":51803,"msg":"Slow query","attr":{'  # cut short
    count = 200_000
    assert count >= 2000 * logs.MAX_PROBLEMS
    path = tmp_path / "flood.log"
    with open(path, "w") as handle:
        handle.write(slow_line() + "\n")
        handle.write((bad + "\n") * count)
    workload = read_workload(logs=[path])
    assert workload.sources[0]["malformed"] == count and workload.sources[0]["lines"] == count + 1
    listed = [p for p in workload.problems if not isinstance(p, Omitted)]
    [omitted] = [p for p in workload.problems if isinstance(p, Omitted)]
    assert len(listed) == logs.MAX_PROBLEMS and listed[0].where == f"{path}:2"
    assert omitted.count == count - logs.MAX_PROBLEMS and f"{count - logs.MAX_PROBLEMS:,} more" in omitted.message
    assert operations(workload) == 1
    with open(tmp_path / "flood-cli.log", "w") as handle:  # the same, smaller, as a user runs it
        handle.write(slow_line() + "\n" + (bad + "\n") * 20_000)
    done = run_in_process("queries", "--log", "flood-cli.log", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sources"][0]["malformed"] == 20_000
    assert "note: flood-cli.log:2: malformed JSON log line: cut short (Expecting property name enclosed in " \
           "double quotes at its end)" in done.stderr


def test_names_from_the_input_do_not_grow_the_skipped_reasons_without_bound(tmp_path):
    lines = [json.dumps({"t": {"$date": "2024-01-01T00:00:00Z"}, "s": "I", "id": 51803, "msg": "Slow query",
                         "attr": {"ns": "shop.$cmd", "command": {f"cmd{n}" + "z" * 500: 1}, "durationMillis": 5}})
             for n in range(3 * logs.MAX_SKIP_REASONS)]
    workload = read_workload(logs=[write_lines(tmp_path / "odd.log", lines)])
    assert len(workload.skipped) == logs.MAX_SKIP_REASONS + 1
    assert sum(workload.skipped.values()) == len(lines)
    assert max(len(reason) for reason in workload.skipped) <= logs.MAX_REASON_CHARS


# -- the text log and gzip damage -------------------------------------------------------------

def test_legacy_text_lines_plain_and_gzipped_with_a_malformed_and_an_over_long_line(tmp_path):
    lines = [text_slow_line("t1", 50), text_slow_line("t2", 70),
             '2019-06-18T11:59:17.000+0100 I COMMAND  [conn2] command shop.orders command: find { find: "orders", '
             'filter: { tenant_id: "t3" ... } planSummary: COLLSCAN 12ms',  # mongod cut the attribute short
             "2019-06-18T11:59:18.000+0100 I COMMAND  [conn3] command shop.orders command: find { x: \""
             + "q" * (2 * CAP) + '" } 9ms',
             text_slow_line("t4", 30)]
    for name in ("mongod-4.0.log", "mongod-4.0.log.gz"):
        path = write_lines(tmp_path / name, lines)
        workload = read_workload(logs=[path], max_line_bytes=CAP)
        [stats] = workload.shapes.values()
        assert (stats.count, stats.total_ms) == (3, 150)
        assert [p.where for p in workload.problems] == [f"{path}:3", f"{path}:4"]
        assert "malformed slow operation line" in workload.problems[0].message
        assert "-byte cap" in workload.problems[1].message
        done = run_in_process("queries", "--log", name, "--json", cwd=tmp_path)
        assert done.returncode == 0 and json.loads(done.stdout)["shapes"][0]["count"] == 3


def test_a_cut_gzip_log_keeps_the_lines_before_the_cut_and_says_so(tmp_path):
    lines = [slow_line(tenant=f"t{n % 7}", millis=n) for n in range(5000)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    (tmp_path / "cut.log.gz").write_bytes(whole[: len(whole) // 2])
    workload = read_workload(logs=[tmp_path / "cut.log.gz"])
    read = workload.sources[0]["lines"]
    assert 0 < read < 5000 and operations(workload) == workload.sources[0]["operations"] >= read - 1
    [problem] = workload.problems
    assert problem.exit_code == 0 and f"compressed stream ends early; the {read:,} lines before it were read" in problem.message
    done = run_in_process("queries", "--log", "cut.log.gz", cwd=tmp_path)
    assert done.returncode == 0 and "note: cut.log.gz: compressed stream ends early" in done.stderr


# -- --profile files ------------------------------------------------------------------------

def profile_document(number: int) -> dict:
    return {"op": "query", "ns": "shop.orders", "command": {"find": "orders", "filter": {"tenant_id": f"t{number % 3}"}},
            "millis": 10 + number, "ts": {"$date": "2024-01-01T00:00:00Z"}}


def test_a_profile_file_that_holds_no_profiler_document_is_bad_input(tmp_path):
    (tmp_path / "random.json").write_bytes(binary_bytes(50_000, 6))
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "orders.json").write_text("\n".join(json.dumps({"_id": n, "status": "paid"}) for n in range(20)) + "\n")
    (tmp_path / "orders-array.json.gz").write_bytes(gzip.compress(json.dumps([{"_id": n} for n in range(20)]).encode()))
    (tmp_path / "profile.json").write_text("\n".join(json.dumps(profile_document(n)) for n in range(20)) + "\n")
    names = ("random.json", "empty.json", "orders.json", "orders-array.json.gz")
    *runs, done = run_clis(*[("queries", "--profile", name, "-q") for name in names],
                           ("queries", "--profile", "profile.json", "--json"), cwd=tmp_path)
    for name, bad in zip(names, runs):
        assert bad.returncode == 2, (name, bad.stderr)
        first = bad.stderr.splitlines()[0]
        assert first.startswith(f"error: {name}: holds no system.profile document"), (name, bad.stderr)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["shapes"][0]["count"] == 20


def test_a_profile_file_with_many_bad_lines_keeps_a_bounded_number_of_problems(tmp_path):
    count = 20_000
    path = tmp_path / "profile.json.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps(profile_document(1)) + "\n")
        handle.write('{"op": "query", "ns": \n' * count)
    workload = read_workload(profiles=[str(path)])
    assert operations(workload) == 1
    listed = [p for p in workload.problems if not isinstance(p, Omitted)]
    omitted = sum(p.count for p in workload.problems if isinstance(p, Omitted))
    assert len(listed) == logs.MAX_PROBLEMS and listed[0].where == f"{path}:2" and listed[0].exit_code == 2
    assert omitted == count - logs.MAX_PROBLEMS


def test_an_over_long_profile_line_is_skipped_and_named(tmp_path):
    path = tmp_path / "profile.json"
    lines = [json.dumps(profile_document(1)), json.dumps(dict(profile_document(2), pad="p" * (3 * CAP))),
             json.dumps(profile_document(3))]
    path.write_text("\n".join(lines) + "\n")
    workload = read_workload(profiles=[str(path)], max_line_bytes=CAP)
    assert operations(workload) == 2
    [problem] = workload.problems
    assert problem.where == f"{path}:2" and f"{len(lines[1]):,} bytes" in problem.message
