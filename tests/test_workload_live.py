"""The workload against a real server process (SecantusDB, or NOSQL_ADVISOR_TEST_URI): the test
loads the demo database, turns the profiler on (the test may; the tool never does), runs a
workload with planted problems, and `scan --profile` must find each of them; then the index the
advice recommends is built with `queries --apply --yes` and the server's own `explain` must
choose it for the planted query: the advice is checked by the server, not by us."""

from __future__ import annotations

import dataclasses
import json
import re
import time
import uuid

import pytest
from pymongo import MongoClient

from nosql_advisor.demo import build_demo, load_live
from nosql_advisor.demo.server import start_secantus

from helpers import run_in_process

run = run_in_process  # the CLI's answers and files are the point here, not its process


def winning_index(plan: dict) -> str | None:
    """The index name of the winning plan's IXSCAN, None for a COLLSCAN."""
    if plan.get("stage") == "IXSCAN":
        return plan.get("indexName")
    inner = plan.get("inputStage") or (plan.get("inputStages") or [None])[0]
    return winning_index(inner) if inner else None


@pytest.fixture(scope="module")
def workload_db(mongo_uri):
    demo = build_demo(scale=0.2)
    demo = dataclasses.replace(demo, database=f"wl_{uuid.uuid4().hex[:8]}")
    load_live(demo, mongo_uri)
    client = MongoClient(mongo_uri)
    database = client[demo.database]
    order = database.orders.find_one({})
    customer = database.customers.find_one({})
    tenant = order["tenant_id"]
    database.command("profile", 2)
    try:
        for _ in range(6):  # planted: no index bounds customer_id (tenant_id_1 bounds the tenant only)
            list(database.orders.find({"tenant_id": tenant, "customer_id": order["customer_id"]}))
        for _ in range(4):  # planted: in-memory sort (no index has total after tenant_id)
            list(database.orders.find({"tenant_id": tenant}).sort("total", -1).limit(10))
        for _ in range(3):  # planted: cross-tenant lookup by email
            list(database.customers.find({"email": customer["email"]}))
        for _ in range(25):  # planted: a $lookup in a hot path
            list(database.orders.aggregate([{"$match": {"tenant_id": tenant}}, {"$limit": 5},
                                            {"$lookup": {"from": "customers", "localField": "customer_id",
                                                         "foreignField": "_id", "as": "who"}}]))
        for _ in range(2):  # planted: /…/i on email (no case-insensitive index holds it)
            list(database.customers.find({"tenant_id": tenant, "email": re.compile("^ann", re.I)}))
        for _ in range(2):  # control: /…/i on name, which tenant_id_1_name_1_ci holds
            list(database.customers.find({"tenant_id": tenant, "name": re.compile("^ann", re.I)}))
        for _ in range(3):  # control: served by tenant_id_1_created_at_-1
            list(database.orders.find({"tenant_id": tenant}).sort("created_at", -1).limit(5))
    finally:
        database.command("profile", 0)
    yield demo.database, order
    client.drop_database(demo.database)
    client.close()


@pytest.mark.live
def test_scan_with_the_profile_finds_each_planted_problem_and_the_server_confirms_the_index(mongo_uri, workload_db, tmp_path):
    name, order = workload_db
    done = run("scan", mongo_uri, "--db", name, "--profile", mongo_uri, "--out", "out", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    found = {(f["rule"], f["namespace"].split(".", 1)[1], f["path"]) for f in report["findings"]}
    assert ("DM404", "orders", None) in found  # tenant_id_1 is a prefix of tenant_id_1_created_at_-1
    assert ("DM402", "orders", "total") in found
    assert ("DM304", "customers", "tenant_id") in found
    assert ("DM406", "orders", None) in found
    assert ("DM407", "customers", "email") in found
    assert ("DM407", "customers", "name") not in found  # the collation index holds it
    gaps = [f for f in report["findings"] if f["rule"] == "DM401"]
    assert [f["namespace"] for f in gaps] == [f"{name}.orders"]
    assert gaps[0]["evidence"]["index"] == [["tenant_id", 1], ["customer_id", 1]]
    assert gaps[0]["evidence"]["replaces"] == "tenant_id_1"
    # the control shapes are served: no DM402 on created_at, no DM304 on orders (all filter the tenant)
    assert ("DM402", "orders", "created_at") not in found
    assert ("DM304", "orders", "tenant_id") not in found
    advice = report["index_advice"]
    assert [(a["namespace"], a["keys"]) for a in advice] == [(f"{name}.orders", [["tenant_id", 1], ["customer_id", 1]])]
    assert advice[0]["impact"]["operations"] == 6
    assert (tmp_path / "out" / "indexes" / f"{name}.js").exists()
    shapes = report["query_shapes"]  # the top shapes by total time, which report.html charts
    assert shapes and [s["total_ms"] for s in shapes] == sorted((s["total_ms"] for s in shapes), reverse=True)
    planted_shape = next(s for s in shapes if s["shape"] == '{"customer_id": "eq", "tenant_id": "eq"}')
    assert (planted_shape["count"], planted_shape["plan"]) == (6, "IXSCAN { tenant_id: 1 }")  # only in part
    html = (tmp_path / "out" / "report.html").read_text()
    assert 'aria-label="top query shapes by total time"' in html
    assert str(order["customer_id"]) not in json.dumps(shapes) + html  # kinds of values, never values

    planted = {"find": "orders", "filter": {"tenant_id": order["tenant_id"], "customer_id": order["customer_id"]}}
    client = MongoClient(mongo_uri)
    try:
        before = client[name].command("explain", planted, verbosity="queryPlanner")["queryPlanner"]["winningPlan"]
        assert winning_index(before) != "tenant_id_1_customer_id_1"
        refused = run("queries", "--profile", mongo_uri, "--db", name, "--apply", cwd=tmp_path)
        assert refused.returncode == 2 and "--yes" in refused.stderr  # stdin is not a terminal
        applied = run("queries", "--profile", mongo_uri, "--db", name, "--apply", "--yes", "-q", cwd=tmp_path)
        assert applied.returncode == 0, applied.stderr
        assert "createIndexes" in applied.stderr and "tenant_id_1_customer_id_1" in applied.stderr
        after = client[name].command("explain", planted, verbosity="queryPlanner")["queryPlanner"]["winningPlan"]
        assert winning_index(after) == "tenant_id_1_customer_id_1"
    finally:
        client.close()
    again = run("scan", mongo_uri, "--db", name, "--profile", mongo_uri, "--out", "out2", "-q", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    report = json.loads((tmp_path / "out2" / "report.json").read_text())
    assert not [f for f in report["findings"] if f["rule"] == "DM401"]  # today's indexes serve it
    assert report["index_advice"] == []


def profiling_settings(client: MongoClient, database: str) -> tuple:
    """(level, slowms, sampleRate) as the server holds them for `database`."""
    reply = client[database].command("profile", -1)
    return reply["was"], reply["slowms"], reply.get("sampleRate")


@pytest.mark.live
def test_the_tool_reads_the_profile_without_changing_the_profiling_level(mongo_uri, workload_db, tmp_path):
    """The profiler is on (level 1, an unusual slowms) before the tool runs: a tool that turned it
    off, reset slowms or set the level at all would change what this reads back after each command.
    The slowms is high so the tool's own reads are never recorded (the counts below stay exact)."""
    name, _ = workload_db
    client = MongoClient(mongo_uri)
    try:
        client[name].command("profile", 1, slowms=4321, sampleRate=0.75)
        assert profiling_settings(client, name) == (1, 4321, 0.75)
        commands = [("queries", "--profile", mongo_uri, "--db", name, "--json"),
                    ("scan", mongo_uri, "--db", name, "--profile", mongo_uri, "--out", "out", "-q"),
                    ("queries", "--profile", f"{mongo_uri}?readPreference=primary", "--db", name, "--json")]
        outputs = []
        for command in commands:
            done = run(*command, cwd=tmp_path)
            assert done.returncode in (0, 1), done.stderr
            assert profiling_settings(client, name) == (1, 4321, 0.75), command[0]
            outputs.append(done.stdout)
        shapes = json.loads(outputs[0])["shapes"]
        assert sum(s["count"] for s in shapes if s["namespace"] == f"{name}.orders" and s["op"] == "aggregate") == 25
    finally:
        client[name].command("profile", 0, slowms=100, sampleRate=1.0)
        client.close()


@pytest.mark.live
def test_a_profile_read_the_server_stops_answering_ends_soon_after_max_time_ms_with_exit_4(tmp_path):
    """The server holds the system.profile `find` for 60 s and ignores its maxTimeMS (a fail
    point): the client gives up a few seconds after --max-time-ms, the run says what was cut short
    and which rules that leaves unchecked, and exits 4 (partial), not 0 and not after a minute."""
    server = start_secantus(test_commands=True)
    try:
        client = MongoClient(server.uri)
        client.shop.orders.insert_one({"tenant_id": "t1"})
        client.shop.command("profile", 2)
        client.shop.orders.find_one({"tenant_id": "t1"})
        client.shop.command("profile", 0)
        client.admin.command("configureFailPoint", "failCommand", mode="alwaysOn",
                             data={"failCommands": ["find"], "appName": "advisor-profile",
                                   "blockConnection": True, "blockTimeMS": 60_000})
        started = time.monotonic()
        done = run("queries", "--profile", f"{server.uri}?appName=advisor-profile", "--db", "shop",
                   "--max-time-ms", "200", cwd=tmp_path)
        elapsed = time.monotonic() - started
        client.close()
    finally:
        server.process.kill()  # a connection is still blocked; the data is throw-away
        server.stop()
    assert done.returncode == 4, done.stderr
    assert elapsed < 25, elapsed  # twice (PyMongo retries a read once) 0.2 s + the 5 s margin: not 60 s
    assert "shop.system.profile: not read (" in done.stderr
    assert "DM304, DM401, DM402, DM403, DM406, DM407, DM408 not checked in full" in done.stderr


def test_a_profile_server_that_cannot_be_reached_or_resolved_is_exit_3_on_one_line(tmp_path):
    for uri in ("mongodb://reader:Pa55word@127.0.0.1:1/shop?serverSelectionTimeoutMS=500",
                "mongodb+srv://reader:Pa55word@no-such-cluster.invalid/shop"):
        done = run("queries", "--profile", uri, cwd=tmp_path)
        assert done.returncode == 3, (uri, done.stderr)
        assert done.stderr.startswith("error: mongodb") and done.stderr.count("\n") == 1, done.stderr
        assert "Pa55word" not in done.stderr and "reader:***@" in done.stderr
