"""Read-only, proven against a SecantusDB started with --auth: the demo database is loaded by an
admin, then the full `scan --profile` runs (the CLI's main, in this process) as a user whose only role
is `read` on that database. It completes, and the server shows no write: its profiler (level 2:
every command it ran for that user) holds only reads, and serverStatus opcounters, which count
every insert, update and delete attempted (refused ones too, which the profiler leaves out), do
not move. The client side is checked with the tool's command monitoring (`live.MONITORS`), which
also sees the commands SecantusDB's profiler never records (`profile`, getMore, killCursors).

SecantusDB's roles are database-wide: `read` covers `find` on system.profile and `$indexStats`,
which mongod grants apart (README, "Privileges and the load on your server"). So a user missing
those rights is made two ways: a role the server really refuses `find` to (system.profile cannot
be read), and a fail point answering `$indexStats` with mongod's code 13 Unauthorized for the
--profile client only (its appName). Either way the scan goes on (exit 0/1) and report.json
`coverage` names the rules not checked, with the reason."""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest
from pymongo import MongoClient

from nosql_advisor.demo import build_demo, load_live
from nosql_advisor.demo.server import start_secantus

from helpers import run_in_process, valid
from nosql_advisor.sources import live
from test_server_contract import READS, WRITING_STAGES, Recorder

pytestmark = pytest.mark.live

ADMIN_PASSWORD = "Adm1nPassw0rdForTests"
READER_PASSWORD = "Read0nlyPassw0rdForTests"
LISTER_PASSWORD = "L1stOnlyPassw0rdForTests"
PROFILE_RULES = ["DM304", "DM401", "DM402", "DM403", "DM406", "DM407"]  # what system.profile feeds
WRITES = {"insert", "update", "delete"}


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """SecantusDB with --auth (and fail points), an admin (root), the demo database under a fresh
    name, and two users: `reader` with only `read` on it, `lister` with a role that may list
    collections and indexes but not read (find). A few operations are profiled, as an operator
    would have them recorded."""
    folder = tmp_path_factory.mktemp("auth-secantus")
    with start_secantus(storage=folder) as first:  # users are made before --auth is on
        with MongoClient(first.uri) as client:
            client.admin.command("createUser", "admin", pwd=ADMIN_PASSWORD, roles=["root"])
    server = start_secantus(storage=folder, auth=True, test_commands=True)
    host = f"127.0.0.1:{server.port}"
    demo = dataclasses.replace(build_demo(scale=0.1), database=f"ro_{uuid.uuid4().hex[:8]}")
    name = demo.database
    admin_uri = f"mongodb://admin:{ADMIN_PASSWORD}@{host}/?authSource=admin"
    load_live(demo, admin_uri)
    admin = MongoClient(admin_uri)
    database = admin[name]
    database.command("createUser", "reader", pwd=READER_PASSWORD, roles=[{"role": "read", "db": name}])
    database.command("createRole", "listOnly", privileges=[
        {"resource": {"db": name, "collection": ""}, "actions": ["listCollections", "listIndexes"]}], roles=[])
    database.command("createUser", "lister", pwd=LISTER_PASSWORD, roles=[{"role": "listOnly", "db": name}])
    record_operator_workload(database)
    try:
        yield {"name": name, "admin": admin, "reader": f"mongodb://reader:{READER_PASSWORD}@{host}/{name}",
               "lister": f"mongodb://lister:{LISTER_PASSWORD}@{host}/{name}"}
    finally:
        admin.close()
        server.process.kill()  # throw-away: no clean shutdown to wait for
        server.stop()


def record_operator_workload(database) -> None:
    """system.profile holding only these: three queries on orders and three on customers, recorded
    by the admin at level 2 (the profiler then off again)."""
    database.drop_collection("system.profile")
    order = database.orders.find_one({})
    database.command("profile", 2)
    for _ in range(3):
        list(database.orders.find({"tenant_id": order["tenant_id"], "customer_id": order["customer_id"]}))
        list(database.customers.find({"email": "someone@example.com"}))
    database.command("profile", 0)


def opcounters(admin: MongoClient) -> dict:
    return {k: v for k, v in admin.admin.command("serverStatus")["opcounters"].items() if k in WRITES}


def report_of(folder) -> dict:
    report = json.loads((folder / "report.json").read_text())
    assert valid(report) == []
    return report


@pytest.fixture(scope="module")
def reader_scan(auth_server, tmp_path_factory) -> dict:
    """The full `scan --profile` as the reader, once for the two tests below: the server's
    profiler at level 2 (every command of every user is recorded) and the tool's command
    monitor on, so the server's record and the client's are of the same run."""
    name, admin, reader = auth_server["name"], auth_server["admin"], auth_server["reader"]
    folder = tmp_path_factory.mktemp("reader-scan")
    profiled, recorder = admin[name], Recorder()
    writes_before = opcounters(admin)
    live.MONITORS.append(recorder)
    profiled.command("profile", 2)
    try:
        done = run_in_process("scan", reader, "--profile", reader, "--out", "out", "-q", cwd=folder)
        level = profiled.command("profile", -1)["was"]
    finally:
        profiled.command("profile", 0)
        live.MONITORS.remove(recorder)
    writes_after = opcounters(admin)
    # mongod writes `user: "reader@<db>"`; SecantusDB 0.7 writes the pair the other way round
    recorded = list(profiled["system.profile"].find({"user": {"$in": [f"reader@{name}", f"{name}@reader"]}}))
    return {"done": done, "level": level, "out": folder / "out", "commands": recorder.commands,
            "recorded": recorded, "writes_before": writes_before, "writes_after": writes_after}


def test_the_full_scan_as_a_read_only_user_completes_and_the_server_records_no_write(auth_server, reader_scan):
    name, done = auth_server["name"], reader_scan["done"]
    assert done.returncode in (0, 1), done.stderr
    assert reader_scan["level"] == 2  # the tool left the profiler as it was
    out = reader_scan["out"]
    report = report_of(out)
    assert {c["namespace"] for c in report["collections"]} >= {f"{name}.orders", f"{name}.customers"}
    assert all(c["status"] == "complete" for c in report["collections"])
    assert report["findings"] and report["query_shapes"]  # the profile was read too
    assert [e for e in report["coverage"] if e["rule"] in PROFILE_RULES and e["status"] == "not_checked"] == []
    recorded = reader_scan["recorded"]
    commands = {next(iter(entry["command"])) for entry in recorded}
    assert {"find", "aggregate", "listIndexes"} <= commands  # the profiler saw the reader's scan
    assert commands <= READS, commands - READS
    assert [e for e in recorded if e["op"] in ("insert", "update", "remove")] == []
    assert reader_scan["writes_after"] == reader_scan["writes_before"]  # not even a refused write was attempted
    written = "".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
    assert READER_PASSWORD not in done.stderr + done.stdout + written


def test_the_read_only_users_commands_seen_by_the_tools_monitor_are_reads(reader_scan):
    commands = reader_scan["commands"]
    names = {name for _, name, _ in commands}
    assert {"find", "aggregate", "count", "listIndexes", "listCollections"} <= names
    assert names <= READS, names - READS
    assert [c for _, n, c in commands if n == "aggregate" and any(WRITING_STAGES & set(s) for s in c["pipeline"])] == []


def test_a_profile_user_refused_system_profile_leaves_the_workload_rules_not_checked(auth_server, tmp_path):
    name, reader, lister = auth_server["name"], auth_server["reader"], auth_server["lister"]
    done = run_in_process("scan", reader, "--profile", lister, "--out", "out", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr  # the scan goes on: findings decide the exit code
    assert f"{name}.system.profile: not authorised" in done.stderr
    assert LISTER_PASSWORD not in done.stderr
    report = report_of(tmp_path / "out")
    scanned = sorted(c["namespace"] for c in report["collections"])
    expected = [{"rule": rule, "namespace": namespace, "status": "not_checked",
                 "reason": f"not authorised for {name}.system.profile"} for namespace in scanned for rule in PROFILE_RULES]
    assert [e for e in report["coverage"] if e["rule"] in PROFILE_RULES and e["status"] == "not_checked"] == expected
    assert not [f for f in report["findings"] if f["rule"] in ("DM401", "DM402", "DM406", "DM407")]


def test_a_profile_client_refused_index_stats_leaves_dm403_not_checked_and_the_rest_checked(auth_server, tmp_path):
    name, admin, reader = auth_server["name"], auth_server["admin"], auth_server["reader"]
    record_operator_workload(admin[name])
    profile_uri = f"{reader}?appName=advisor-profile"  # the fail point answers this client only
    admin.admin.command("configureFailPoint", "failCommand", mode="alwaysOn",
                        data={"failCommands": ["aggregate"], "appName": "advisor-profile", "errorCode": 13})
    try:
        done = run_in_process("scan", reader, "--profile", profile_uri, "--out", "out", cwd=tmp_path)
    finally:
        admin.admin.command("configureFailPoint", "failCommand", mode="off")
    assert done.returncode in (0, 1), done.stderr
    assert "not authorised for $indexStats: DM403 not checked" in done.stderr
    report = report_of(tmp_path / "out")
    profiled = {f"{name}.orders", f"{name}.customers"}  # the namespaces the profile names
    dm403 = {e["namespace"]: e["reason"] for e in report["coverage"] if e["rule"] == "DM403" and e["status"] == "not_checked"}
    assert {namespace: dm403.get(namespace) for namespace in profiled} == dict.fromkeys(profiled, "not authorised for $indexStats")
    # the collections the profile does not name have no $indexStats read at all
    assert all(reason.startswith("no index usage read") for namespace, reason in dm403.items() if namespace not in profiled)
    assert [e for e in report["coverage"] if e["rule"] in PROFILE_RULES and e["rule"] != "DM403"
            and e["status"] == "not_checked"] == []
    assert {s["namespace"] for s in report["query_shapes"]} >= profiled  # system.profile was read


def test_a_wrong_password_for_the_profile_is_exit_3_on_one_line(auth_server, tmp_path):
    name, reader = auth_server["name"], auth_server["reader"]
    wrong = reader.replace(READER_PASSWORD, "NotThePassword1")
    done = run_in_process("queries", "--profile", wrong, "--db", name, cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "not authorised" in done.stderr and "NotThePassword1" not in done.stderr
