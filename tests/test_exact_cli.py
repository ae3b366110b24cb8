"""`--exact` on the command line: the plan printed before the exact pass runs, the question at a
terminal or `--yes`, the refusal otherwise, and the note for file sources."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import uuid

import pytest
from pymongo import MongoClient
from typer.testing import CliRunner

from helpers import run_cli
from nosql_advisor.cli import app
from nosql_advisor.errors import InputError
from nosql_advisor.plan import PlanEntry, plan_lines, question, reads_on
from nosql_advisor.scan import ScanOptions
from nosql_advisor.sources.base import Selection
from nosql_advisor.throttle import Throttle

DOCUMENTS = {"orders": 300, "users": 40}
REFUSAL = ("--exact runs a full collection scan of 1 collection (about 300 documents): add --yes to confirm "
           "when stdin is not a terminal (nothing was read)")


def run(*args: str):
    """`nosql-advisor ARGS` in this process, stdin not a terminal: the CliRunner result."""
    return CliRunner().invoke(app, list(args))


def test_the_plan_lists_each_collection_the_total_and_what_max_docs_leaves_sampled():
    entries = [PlanEntry("shop.orders", 1_000, 2 * 1024 * 1024), PlanEntry("shop.events", 10_000, None),
               PlanEntry("shop.users", 200, 64 * 1024)]
    options = ScanOptions(selection=Selection(sample_size=100), max_docs=5_000, throttle=Throttle(100))
    lines = plan_lines(entries, options, "mongodb://reader:s3cret@replica:27017/")
    assert lines[0] == "exact plan on mongodb://reader:***@replica:27017/: 2 of 3 collections read exactly"
    assert lines[1] == "  shop.orders  about 1,000 documents, 2.0 MiB"
    assert lines[2] == ("  shop.events  about 10,000 documents, size unknown  left sampled: with the sample it "
                        "would read more than --max-docs")
    assert lines[3] == "  shop.users   about 200 documents, 64.0 KiB"
    assert lines[4].startswith("cost: one full collection scan per collection on secondaries "
                               "(secondaryPreferred), about 1,200 documents / 2.1 MiB; one aggregate per "
                               "collection, more (at most 4) where documents nest deeper than the sample "
                               "showed, allowDiskUse, maxTimeMS 60000")
    assert lines[5] == "--max-docs 5,000 leaves 1 collection sampled (no exact pass): shop.events"
    assert lines[6] == "--rate 100: the exact pass pauses between collections: at least 12 s in all for its 1,200 documents"
    assert question(entries, options) == "Run the exact pass over 2 collections (about 1,200 documents)?"


def test_the_plan_says_one_document_and_one_collection_and_no_zero_second_floor():
    from nosql_advisor.plan import documents_text  # noqa: PLC0415
    entries = [PlanEntry("shop.two", 2, 10)]
    one = Selection(sample_size=1)  # the sample does not read the 2 documents whole
    lines = plan_lines(entries, ScanOptions(throttle=Throttle(100), selection=one), "mongodb://h/")
    assert lines[0] == "exact plan on mongodb://h/: 1 of 1 collection read exactly"
    assert documents_text(1) == "about 1 document"
    assert not any("at least" in line for line in lines)  # 2 documents at 100/s: no "at least 0 s"
    assert question(entries, ScanOptions(selection=one)) == "Run the exact pass over 1 collection (about 2 documents)?"


@pytest.mark.live
def test_an_unreachable_server_is_left_out_of_the_plan_and_the_rest_is_planned(mongo_uri):
    from nosql_advisor.plan import reachable_plans  # noqa: PLC0415
    from nosql_advisor.sources.live import LiveOptions  # noqa: PLC0415
    options = ScanOptions(live=LiveOptions(server_selection_ms=300),
                          selection=Selection(databases=("nothing_here",)))
    plans, unreached = reachable_plans(["mongodb://127.0.0.1:1/", mongo_uri], options)
    assert [uri for uri, _ in plans] == [mongo_uri]
    assert len(unreached) == 1 and unreached[0].startswith("exact plan on mongodb://127.0.0.1:1/: not planned")


def test_the_plan_says_unknown_sizes_and_where_the_uri_sends_the_reads():
    entries = [PlanEntry("shop.orders", 10, None), PlanEntry("shop.users", None, None)]
    lines = plan_lines(entries, ScanOptions(selection=Selection(sample_size=5)), "mongodb://h/?readPreference=secondary")
    assert "  shop.users   document count unknown, size unknown" in lines
    assert "about 10 documents / size unknown (the server does not report it)" in lines[3]
    assert reads_on("mongodb://h/?readPreference=secondary") == "the members readPreference=secondary picks"
    assert reads_on("mongodb://h/") == "secondaries (secondaryPreferred)"


def test_exact_with_only_file_sources_says_a_whole_file_is_already_exact(tmp_path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "orders.json").write_text('{"_id": 1, "n": 1}\n{"_id": 2, "n": 2}\n')
    done = run("shape", str(tmp_path / "shop"), "--exact", "--json")  # stdin is not a terminal, no --yes
    assert done.exit_code == 0, done.output
    assert "note: --exact applies to live sources: a file read whole is already exact" in done.stderr
    assert "--yes" not in done.stderr
    read = [(s["namespace"], s["sampled"], s["method"]) for s in json.loads(done.stdout)]
    assert read == [("shop.orders", 2, "full")]


@pytest.fixture(scope="module")
def shop(mongo_uri):
    client = MongoClient(mongo_uri)
    name = f"exactcli_{uuid.uuid4().hex[:8]}"
    for collection, count in DOCUMENTS.items():
        client[name][collection].insert_many([{"n": i, "tags": ["a"] * (i % 3)} for i in range(count)])
    yield name
    client.drop_database(name)
    client.close()


@pytest.mark.live
def test_exact_without_yes_and_no_terminal_prints_the_plan_then_refuses(mongo_uri, shop, tmp_path):
    done = run_cli("scan", mongo_uri, "--db", shop, "--exact", "-n", "100", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0].startswith("exact plan on ") and lines[0].endswith(": 1 of 2 collections read exactly")
    assert lines[1].split() == [f"{shop}.orders", "about", "300", "documents,", "size", "unknown"]
    assert lines[2].split() == [f"{shop}.users", "about", "40", "documents,", "size", "unknown", "read", "whole",
                                "by", "the", "sample:", "already", "exact"]
    assert lines[-1] == f"error: {REFUSAL}"
    assert not (tmp_path / "out").exists()


@pytest.mark.live
def test_quiet_hides_the_plan_but_not_the_refusal(mongo_uri, shop, tmp_path):
    done = run("shape", mongo_uri, "--db", shop, "--exact", "-n", "100", "-q")
    assert isinstance(done.exception, InputError) and done.exception.exit_code == 2  # main() prints it, exit 2
    assert str(done.exception) == REFUSAL
    assert done.output == ""  # no plan, no shape


@pytest.mark.live
def test_at_a_terminal_exact_asks_and_no_reads_nothing(mongo_uri, shop, tmp_path):
    terminal, answers = pty.openpty()
    try:
        os.write(terminal, b"n\n")
        done = subprocess.run([sys.executable, "-m", "nosql_advisor", "scan", mongo_uri, "--db", shop, "--exact", "-n", "100",
                               "--out", "out"], stdin=answers, capture_output=True, text=True, cwd=tmp_path,
                              timeout=120)
    finally:
        os.close(terminal)
        os.close(answers)
    assert "Run the exact pass over 1 collection (about 300 documents)? [y/N]" in done.stdout
    assert done.stderr.splitlines()[-1] == "nothing was read"
    assert done.returncode == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.live
def test_exact_with_yes_prints_the_plan_and_reads_every_collection_exactly(mongo_uri, shop, tmp_path):
    done = run("scan", mongo_uri, "--db", shop, "--exact", "--yes", "-n", "100", "--out", str(tmp_path / "out"))
    assert done.exit_code == 0, done.output
    assert f"{shop}.orders  about 300 documents" in done.stderr
    assert f"{shop}.users   about 40 documents, " in done.stderr and "read whole by the sample" in done.stderr
    assert "cost: one full collection scan per collection on secondaries (secondaryPreferred), about 300 " \
           "documents" in done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    found = {c["namespace"]: (c["method"], c["sampled"]) for c in report["collections"]}
    assert found == {f"{shop}.orders": ("exact", 300), f"{shop}.users": ("full", 40)}  # users: read whole


@pytest.mark.live
def test_max_docs_leaves_the_larger_collection_sampled_as_the_plan_said(mongo_uri, shop, tmp_path):
    # orders: 300 estimated + a sample of 100 > 200; users: 40 + 40 <= 200
    done = run("shape", mongo_uri, "--db", shop, "--exact", "--yes", "--max-docs", "200", "-n", "100", "--json")
    assert done.exit_code == 0, done.output
    assert f"--max-docs 200 leaves 1 collection sampled (no exact pass): {shop}.orders" in done.stderr
    found = {s["namespace"]: (s["method"], s["sampled"]) for s in json.loads(done.stdout)}
    assert found == {f"{shop}.orders": ("sample", 100), f"{shop}.users": ("full", 40)}
