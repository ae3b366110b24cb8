"""Any input file, bounded memory, one clear line: the bad-input corpus (tests/data/bad/make_bad.py)
scanned through the command line, over-long lines and array elements, a flood of bad lines, the
17 MiB document, unreadable dump parts as a user without privileges, and config typos."""

from __future__ import annotations

import ctypes
import gzip
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import bson
import pytest

from helpers import ROOT, run_in_process, valid

sys.path.insert(0, str(ROOT / "tests" / "data" / "bad"))
import make_bad  # noqa: E402

from nosql_advisor.sources.export import MAX_LINE_BYTES  # noqa: E402
from nosql_advisor.sources.files import OUTPUT_MARKER  # noqa: E402

PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2  # linux/prctl.h, linux/capability.h
MIB = 1024 * 1024
PROBLEM_LINE = re.compile(r"^(error|note): ")


@pytest.fixture(scope="session")
def corpus():
    """The corpus written once, removed at the end."""
    base = Path(tempfile.mkdtemp(prefix="nosql-advisor-bad-"))
    cases = make_bad.make_corpus(base / "cases", damaged=20, seed=11)
    yield {case.name: case for case in cases}
    for path in base.rglob("*"):
        if not path.is_symlink() and path.is_dir():
            path.chmod(0o755)
        elif not path.is_symlink() and path.is_file():
            path.chmod(0o644)
    shutil.rmtree(base)


def without_file_privileges() -> None:
    """In the child, before exec: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding
    set, so root reads files as their owner would (a chmod 000 file is refused), as a user
    without privileges would meet them. (`nobody` cannot run the interpreter under /root.)"""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def scan(source: Path, out: Path, *extra: str, unprivileged: bool = False, timeout: int = 300) -> subprocess.CompletedProcess:
    """`nosql-advisor scan SOURCE --out OUT`; `unprivileged`: as root without the privilege to read
    what file modes refuse (when we are not root, the modes apply anyway), which takes a process
    of its own; otherwise the CLI runs in this process (the stderr, exit code and report are the
    point, not the process)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    args = ["scan", str(source), "--out", out.name, *extra]
    if not (unprivileged and os.geteuid() == 0):
        return run_in_process(*args, cwd=out.parent, timeout=timeout)
    return subprocess.run([sys.executable, "-m", "nosql_advisor", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, cwd=out.parent,
                          preexec_fn=without_file_privileges)


def problem_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if PROBLEM_LINE.match(line)]


def report_of(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def corpus_case_names() -> list[str]:
    """The names of the cases without writing them: a dry run in a temporary folder."""
    with tempfile.TemporaryDirectory() as folder:
        names = [case.name for case in make_bad.make_corpus(Path(folder), damaged=20, seed=11, big=False)]
        for path in Path(folder).rglob("*"):  # chmod 000 parts, so the folder can be removed
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
    return names + ["big_document_in_dump", "metadata_huge"]


@pytest.mark.parametrize("name", corpus_case_names())
def test_every_bad_input_is_a_clear_line_with_the_documented_exit_code(corpus, tmp_path, name):
    case = corpus[name]
    done = scan(case.source, tmp_path / "out", unprivileged=case.needs_unprivileged)
    assert done.returncode in {0, 2, 4}, done.stderr
    if case.exit_code is not None:
        assert done.returncode == case.exit_code, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    for line in problem_lines(done.stderr):
        assert str(case.source) in line or re.match(r"^(error|note): [^ /]+\.[^ ]+: ", line), line
    for expected in case.stderr:
        assert expected in done.stderr, done.stderr
    report = report_of(tmp_path / "out")
    assert valid(report) == []
    if case.collections is not None:
        assert len(report["collections"]) == case.collections, [c["namespace"] for c in report["collections"]]


def test_the_corpus_marker_is_the_one_the_tool_writes():
    assert make_bad.MARKER == OUTPUT_MARKER


# -- dump folders -----------------------------------------------------------------------------

def test_unreadable_file_and_folder_are_one_line_each_for_a_user_without_privileges(tmp_path):
    root = make_bad.dump_with(tmp_path / "dump", {"shop/secret.bson": make_bad.bson_bytes(make_bad.documents(5)),
                                                  "locked/orders.bson": make_bad.bson_bytes(make_bad.documents(5))})
    (root / "shop" / "secret.bson").chmod(0)
    (root / "locked").chmod(0)
    try:
        done = scan(root, tmp_path / "out", unprivileged=True)
    finally:
        (root / "locked").chmod(0o755)
    assert done.returncode == 2, done.stderr
    lines = problem_lines(done.stderr)
    assert f"error: {root}/locked: cannot read this folder (permission denied); skipped" in lines
    assert f"error: {root}/shop/secret.bson: cannot read this file (permission denied); skipped" in lines
    assert [c["namespace"] for c in report_of(tmp_path / "out")["collections"]] == ["shop.good"]


def test_a_symlinked_database_folder_is_read_under_its_own_name(tmp_path):
    case = make_bad.symlinked_database(tmp_path / "case")
    done = scan(case.source, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    collections = {c["namespace"]: c["sampled"] for c in report_of(tmp_path / "out")["collections"]}
    assert collections == {"linked.orders": 7, "shop.good": 20}


def test_a_symlink_loop_is_one_note_not_a_hang(tmp_path):
    root = make_bad.dump_with(tmp_path / "dump", {})
    (root / "shop" / "again").symlink_to("..", target_is_directory=True)
    done = scan(root, tmp_path / "out", timeout=60)
    assert done.returncode == 0, done.stderr
    assert problem_lines(done.stderr) == [f"note: {root}/shop/again: a folder already read (a symlink loop or a "
                                          "second link to it); not read again"]


def test_the_tools_own_output_inside_a_dump_is_not_read_back(tmp_path):
    root = make_bad.dump_with(tmp_path / "dump", {})
    first = scan(root, root / "report")
    second = scan(root, root / "report")
    assert first.returncode == second.returncode == 0, second.stderr
    assert f"note: {root}/report: holds {OUTPUT_MARKER}" in second.stderr
    assert [c["namespace"] for c in report_of(root / "report")["collections"]] == ["shop.good"]


def test_a_non_utf8_file_name_is_named_escaped_and_still_read(tmp_path):
    case = make_bad.non_utf8_name(tmp_path / "case")
    done = scan(case.source, tmp_path / "out")
    assert done.returncode == 2
    report = report_of(tmp_path / "out")
    assert {c["namespace"]: c["sampled"] for c in report["collections"]} == {"shop.caf\\xe9": 3, "shop.good": 20}


def test_odd_collection_names_are_read(tmp_path):
    case = make_bad.odd_collection_names(tmp_path / "case")
    done = scan(case.source, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    names = {c["namespace"] for c in report_of(tmp_path / "out")["collections"]}
    assert {"shop.a..b", "shop.with space", "shop.sub/dir", "shop.$weird", "shop..hidden", "shop.données",
            "shop.new\\nline", "shop.tab\\tname"} <= names


@pytest.mark.parametrize("shape", sorted(set(make_bad.METADATA_SHAPES) - {"huge"}))
def test_malformed_metadata_is_one_line_and_the_documents_are_still_read(tmp_path, shape):
    case = make_bad.malformed_metadata(tmp_path / "case", shape)
    done = scan(case.source, tmp_path / "out")
    assert done.returncode == 2, done.stderr
    _, message = make_bad.METADATA_SHAPES[shape]
    assert [line for line in problem_lines(done.stderr) if "metadata" in line][0].startswith(
        f"error: {case.source}/shop/orders.metadata.json: {message}")
    collections = {c["namespace"]: c["sampled"] for c in report_of(tmp_path / "out")["collections"]}
    assert collections == {"shop.good": 20, "shop.orders": 9}


# -- exports: over-long lines, arrays, a flood of bad lines, truncated gzip ----------------------

def write_line_file(path: Path, middle_bytes: int) -> int:
    """Three NDJSON lines, the second one a document holding `middle_bytes` of string; returns
    the length of that line (without its newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head, tail = b'{"_id": 2, "blob": "', b'"}'
    with open(path, "wb") as handle:
        handle.write(b'{"_id": 1}\n' + head)
        for _ in range(middle_bytes // MIB):
            handle.write(b"x" * MIB)
        handle.write(b"x" * (middle_bytes % MIB) + tail + b'\n{"_id": 3}\n')
    return len(head) + middle_bytes + len(tail)


def peak_rss_mb(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    """Run the CLI in a child that reports its own peak RSS (resource.getrusage)."""
    child = ("import resource, subprocess, sys\n"
             "done = subprocess.run([sys.executable, '-m', 'nosql_advisor', *sys.argv[1:]], capture_output=True, text=True)\n"
             "sys.stderr.write(done.stderr)\n"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
             "sys.exit(done.returncode)\n")
    done = subprocess.run([sys.executable, "-c", child, *args], capture_output=True, text=True, cwd=cwd, timeout=600)
    return done, float(done.stdout.strip().splitlines()[-1])


def test_a_line_longer_than_the_cap_is_skipped_named_and_memory_stays_bounded(tmp_path):
    length = write_line_file(tmp_path / "shop" / "events.json", 120 * MIB)
    done, peak = peak_rss_mb("scan", "shop", "--out", "out", "--workers", "1", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert problem_lines(done.stderr) == [
        f"error: shop/events.json:2: line of {length:,} bytes is longer than {MAX_LINE_BYTES:,} (no MongoDB "
        "document is that large); skipped without reading it"]
    assert report_of(tmp_path / "out")["collections"][0]["sampled"] == 2
    assert peak < 120 + 60, f"peak RSS {peak:.0f} MB for a {length / MIB:.0f} MiB line"  # the line is never held whole


@pytest.mark.parametrize("name, extra", [("events.json.gz", []), ("events.json", ["-n", "5"]),
                                         ("events.json", ["--workers", "2"])])
def test_the_line_cap_holds_for_gzip_samples_and_worker_processes(tmp_path, name, extra):
    plain = tmp_path / "plain.json"
    length = write_line_file(plain, MAX_LINE_BYTES + MIB)
    (tmp_path / "shop").mkdir()
    if name.endswith(".gz"):
        with open(plain, "rb") as source, gzip.open(tmp_path / "shop" / name, "wb", compresslevel=1) as target:
            shutil.copyfileobj(source, target)
    else:
        plain.rename(tmp_path / "shop" / name)
    done = run_in_process("scan", "shop", "--out", "out", *extra, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert f"shop/{name}:2: line of {length:,} bytes is longer than" in done.stderr
    assert report_of(tmp_path / "out")["collections"][0]["sampled"] == 2


def test_a_json_array_is_streamed_and_an_element_over_the_cap_is_skipped(tmp_path):
    (tmp_path / "shop").mkdir()
    big = b'{"_id": 2, "blob": "' + b"y" * (MAX_LINE_BYTES + MIB) + b'"}'
    (tmp_path / "shop" / "orders.json").write_bytes(b'[\n  {"_id": 1,\n   "a": [1, "]"]},\n  ' + big +
                                                   b',\n  {"_id": 3, "s": "\\"{"}\n]\n')
    done = run_in_process("scan", "shop", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert problem_lines(done.stderr) == [
        f"error: shop/orders.json:4: document of {len(big):,} bytes of JSON is longer than {MAX_LINE_BYTES:,} "
        "(no MongoDB document is that large); skipped without reading it"]
    collection = report_of(tmp_path / "out")["collections"][0]
    assert collection["sampled"] == 2 and {f["path"] for f in collection["fields"]} == {"_id", "a", "s"}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_flood_of_bad_lines_keeps_a_hundred_problems_counts_the_rest_and_memory_flat(tmp_path, workers):
    """200,000 bad lines: kept, they would take over 30 MB (a Problem each); the peak stays within
    a few MB of the same scan over one bad line, so the memory does not follow the line count."""
    from concurrent.futures import ThreadPoolExecutor

    from nosql_advisor.parallel import PARALLEL_MIN_BYTES

    bad = 200_000
    line = b"not json" + b" " * 37 + b"\n"  # long enough that the file starts worker processes
    for name, count in (("noise", bad), ("one", 1)):
        (tmp_path / name / "shop").mkdir(parents=True)
        (tmp_path / name / "shop" / "noise.json").write_bytes(b'{"_id": 0}\n' + line * count)
    assert (tmp_path / "noise" / "shop" / "noise.json").stat().st_size > PARALLEL_MIN_BYTES
    with ThreadPoolExecutor(max_workers=2) as pool:  # side by side: each child reports its own peak
        (done, peak), (_, baseline) = pool.map(
            lambda name: peak_rss_mb("scan", "shop", "--out", "out", "--workers", workers, cwd=tmp_path / name),
            ("noise", "one"))
    assert done.returncode == 2
    report = report_of(tmp_path / "noise" / "out")
    assert valid(report) == []
    kept = report["problems_kept_per_file"]
    assert len(report["problems"]) == kept == 100
    assert report["problem_counts"] == [{"where": "shop/noise.json", "counted": bad, "listed": kept}]
    assert report["problems_omitted"] == bad - kept
    assert report["collections"][0]["problems"] == bad and report["collections"][0]["sampled"] == 1
    assert f"error: shop/noise.json: {bad - 10:,} more problems not shown" in done.stderr
    assert peak - baseline < 20, f"peak RSS {peak:.0f} MB for {bad:,} bad lines, {baseline:.0f} MB for one"


def whole_lines_before_the_cut(compressed: bytes) -> int:
    """How many whole lines the bytes of a cut gzip stream still give (zlib, not the tool)."""
    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(compressed).count(b"\n")


def test_a_truncated_small_json_gz_says_exactly_how_many_documents_were_read(tmp_path):
    case = make_bad.truncated_small_json_gz(tmp_path / "case")
    cut = (case.source / "orders.json.gz").read_bytes()
    expected = whole_lines_before_the_cut(cut)
    assert 0 < expected < 30
    done = scan(case.source, tmp_path / "out")
    assert done.returncode == 4  # read only in part
    assert problem_lines(done.stderr) == [f"error: {case.source}/orders.json.gz: compressed stream ends early; "
                                          f"the {expected} documents before it were read"]
    collection = report_of(tmp_path / "out")["collections"][0]
    assert collection["sampled"] == expected and collection["status"] == "incomplete"
    assert f"the {expected} documents before it were read" in collection["status_reason"]


def test_a_document_over_16_mib_is_a_critical_dm103_named_as_over_the_limit(tmp_path):
    case = make_bad.big_document_in_dump(tmp_path / "case")
    done = scan(case.source, tmp_path / "out")
    assert done.returncode in (0, 1), done.stderr  # findings, no input problem
    findings = [f for f in report_of(tmp_path / "out")["findings"] if f["rule"] == "DM103"]
    assert [f["severity"] for f in findings] == ["critical"]
    size = len(bson.encode({"_id": 1, "blob": bson.Binary(b"\0" * (17 * MIB))}))
    assert f"({size:,} bytes) is over MongoDB's 16 MiB document limit" in findings[0]["message"]


def test_a_document_just_under_16_mib_stays_high(tmp_path):
    (tmp_path / "shop").mkdir()
    document = {"_id": 1, "blob": bson.Binary(b"\0" * (16 * MIB - 100))}
    (tmp_path / "shop" / "files.bson").write_bytes(bson.encode(document))
    done = scan(tmp_path / "shop", tmp_path / "out")
    findings = [f for f in report_of(tmp_path / "out")["findings"] if f["rule"] == "DM103"]
    assert [f["severity"] for f in findings] == ["high"], done.stderr


# -- config: unknown keys anywhere ------------------------------------------------------------

@pytest.mark.parametrize("toml, message", [
    ('[rules.DM101]\np99_lenght = 500\n',
     "rules.DM101: Additional properties are not allowed ('p99_lenght' was unexpected); known keys: max_length, "
     "p99_length, severity, undeclared_length; did you mean 'p99_length'?"),
    ('tool = "x"\n', "Additional properties are not allowed ('tool' was unexpected)"),
    ('[rules.DM199]\nseverity = "low"\n', "rules: Additional properties are not allowed ('DM199' was unexpected)"),
])
def test_an_unknown_config_key_is_one_line_naming_the_key_and_the_file(tmp_path, toml, message):
    make_bad.dump_with(tmp_path / "dump", {})
    (tmp_path / "advisor.toml").write_text(toml)
    done = run_in_process("scan", "dump", "--config", "advisor.toml", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: advisor.toml: {message}")


def test_a_tool_key_that_is_not_a_table_in_pyproject_is_one_line(tmp_path):
    make_bad.dump_with(tmp_path / "dump", {})
    (tmp_path / "pyproject.toml").write_text('tool = "x"\n')
    done = run_in_process("scan", "dump", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {tmp_path / 'pyproject.toml'}: 'tool' is not a table "
                                                "(pyproject.toml's [tool] holds one table per tool)"]


def test_a_collection_name_too_long_for_its_metadata_file_name_is_still_read(tmp_path):
    root = make_bad.dump_with(tmp_path / "dump", {})
    name = "L" * 240  # 240 + ".bson" fits a file name; 240 + ".metadata.json.gz" does not
    (root / "shop" / f"{name}.bson").write_bytes(b"".join(bson.encode({"_id": i}) for i in range(3)))
    done = scan(root, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    sampled = {c["namespace"]: c["sampled"] for c in report_of(tmp_path / "out")["collections"]}
    assert sampled[f"shop.{name}"] == 3


def test_a_database_folder_name_that_is_not_utf8_is_one_line(tmp_path):
    folder = tmp_path / "dump" / os.fsdecode(b"d\xffb")
    folder.mkdir(parents=True)
    (folder / "c.bson").write_bytes(bson.encode({"_id": 1}))
    done = scan(tmp_path / "dump", tmp_path / "out")
    assert done.returncode == 2
    assert problem_lines(done.stderr) == [f"error: {tmp_path}/dump/d\\xffb/c.bson: the database folder name is not "
                                          "UTF-8, so not a MongoDB name; read as d\\xffb.c"]


@pytest.mark.parametrize("metadata, message", [
    ("null", "metadata is JSON null, not an object"),
    ('{"options": {"validationLevel": 5}}', "options.validationLevel is 5, not one of off, strict, moderate"),
    ('{"options": {"validationAction": []}}', "options.validationAction is [], not one of error, warn, errorAndLog"),
])
def test_metadata_null_or_a_bad_validation_setting_is_one_line(tmp_path, metadata, message):
    root = make_bad.dump_with(tmp_path / "dump", {})
    (root / "shop" / "c.bson").write_bytes(bson.encode({"_id": 1}))
    (root / "shop" / "c.metadata.json").write_text(metadata)
    done = scan(root, tmp_path / "out")
    assert done.returncode == 2
    assert any(line.startswith(f"error: {root}/shop/c.metadata.json: {message}") for line in problem_lines(done.stderr))
