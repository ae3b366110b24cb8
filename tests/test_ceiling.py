"""The load ceiling a DBA sets: `--rate` (documents per second across the scan, one Throttle shared
by every read) and `--max-docs` (documents read per collection)."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid

import pytest
from pymongo import MongoClient
from typer.testing import CliRunner

from nosql_advisor.cli import app
from nosql_advisor.throttle import BURST_S, MIN_PAUSE_S, Throttle
from tests.helpers import run_in_process

DOCUMENTS = 400  # per collection of the live fixture


def slack(rate: float) -> float:
    """The seconds a ceiling may run ahead: the bucket's burst and the debt carried unslept."""
    return max(1.0, rate * BURST_S) / rate + MIN_PAUSE_S


def run(*args: str):
    """`nosql-advisor ARGS` in this process (stdin not a terminal): exit code, stdout, stderr."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_without_a_rate_the_throttle_only_counts():
    throttle = Throttle(None)
    started = time.monotonic()
    for _ in range(3):
        throttle.spend_sync(1000)
    assert throttle.documents == 3000
    assert throttle.paused_s == 0.0
    assert time.monotonic() - started < 1.0  # 3,000 documents "spent" without a ceiling are not held
    assert throttle.summary().startswith("read 3,000 documents in ")
    assert throttle.summary().endswith("(no --rate ceiling)")


def test_a_rate_of_2000_holds_over_a_second_and_the_summary_says_what_it_cost():
    throttle = Throttle(2000)
    started = time.monotonic()
    for _ in range(2500):
        throttle.spend_sync(1)
    elapsed = time.monotonic() - started
    assert elapsed >= 2500 / 2000 - slack(2000)  # 1.25 s less the burst: the rate held
    assert throttle.documents == 2500
    found = re.fullmatch(r"read 2,500 documents in (\d+\.\d) s under --rate 2000 \(paused (\d+\.\d) s\)",
                         throttle.summary())
    assert found, throttle.summary()
    reading, paused = float(found[1]), float(found[2])
    assert reading >= 1.1 and 0 < paused <= reading + 0.1


def test_one_large_spend_pauses_until_it_is_paid_for():
    throttle = Throttle(2000)  # an exact pass spends its collection's documents at once
    started = time.monotonic()
    throttle.spend_sync(1000)
    assert time.monotonic() - started >= 1000 / 2000 - slack(2000)
    assert throttle.paused_s >= 0.4


def test_concurrent_collections_share_one_ceiling_and_their_pauses_are_not_added_up():
    throttle = Throttle(1000)

    async def collection() -> None:
        for _ in range(250):
            await throttle.spend(1)

    async def scan() -> float:
        started = time.monotonic()
        await asyncio.gather(*(collection() for _ in range(4)))
        return time.monotonic() - started

    elapsed = asyncio.run(scan())
    assert throttle.documents == 1000
    assert elapsed >= 1000 / 1000 - slack(1000)  # the four together, not each, under 1000/s
    assert 0.7 <= throttle.paused_s <= elapsed + 0.05  # wall time paused, not four sleeps summed


def test_a_rate_must_be_above_zero(tmp_path):
    with pytest.raises(ValueError):
        Throttle(0)
    code, _, stderr = run("shape", str(tmp_path), "--rate", "0")
    assert code == 2
    assert "Invalid value for '--rate': 0 is not a number above 0" in stderr


@pytest.fixture(scope="module")
def two_collections(mongo_uri):
    client = MongoClient(mongo_uri)
    name = f"ceiling_{uuid.uuid4().hex[:8]}"
    client[name].orders.insert_many([{"n": i, "sku": f"s{i}"} for i in range(DOCUMENTS)])
    client[name].users.insert_many([{"email": f"u{i}@example.com"} for i in range(DOCUMENTS)])
    yield name
    client.drop_database(name)
    client.close()


@pytest.mark.live
def test_rate_200_over_two_samples_of_300_takes_at_least_3_s_and_says_so(mongo_uri, two_collections, tmp_path):
    started = time.monotonic()
    code, stdout, stderr = run("shape", mongo_uri, "--db", two_collections, "-n", "300", "--rate", "200", "--json")
    elapsed = time.monotonic() - started
    assert code == 0, stderr
    assert [shape["sampled"] for shape in json.loads(stdout)] == [300, 300]
    assert elapsed >= 600 / 200 - slack(200)  # both collections' reads held under one 200/s ceiling
    found = re.search(r"note: read 600 documents in (\d+\.\d) s under --rate 200 \(paused (\d+\.\d) s\)", stderr)
    assert found, stderr
    assert float(found[1]) >= 2.9


@pytest.mark.live
def test_max_docs_20_reads_20_documents_per_collection(mongo_uri, two_collections, tmp_path):
    code, _, stderr = run("scan", mongo_uri, "--db", two_collections, "--max-docs", "20", "--out",
                          str(tmp_path / "out"), "-q")
    assert code == 0, stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    read = {c["namespace"]: (c["sampled"], c["documents_estimated"], c["method"]) for c in report["collections"]}
    # 400 documents would be read whole under the default sample size of 1,000: the cap makes it a sample
    assert read == {f"{two_collections}.orders": (20, DOCUMENTS, "sample"),
                    f"{two_collections}.users": (20, DOCUMENTS, "sample")}


@pytest.mark.parametrize("rate", ["0", "-1", "nan", "inf"])
def test_a_rate_that_is_not_a_number_above_zero_is_bad_usage(tmp_path, rate):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "c.json").write_text('{"a": 1}\n')
    done = run_in_process("shape", str(tmp_path), "--rate", rate, cwd=tmp_path)
    assert done.returncode == 2 and "is not a number above 0" in done.stderr
