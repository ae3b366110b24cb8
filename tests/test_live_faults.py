"""Live faults stay with what they hit, and the run is bounded by the user's timeouts.

Against real SecantusDB processes started here with --enable-test-commands (`configureFailPoint`
with `failCommand`, limited to the tool's own connections by appName), or stopped, or killed,
while the tool scans them. A fault marks the collection or database it hit (status
incomplete/dropped/timed_out, with the reason), keeps what was read, leaves the rest of the
report whole and exits 4; a retryable failure is retried three times with backoff; a server
that stops answering ends the run a few seconds after --max-time-ms, not a timeout per
collection later.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid

import pytest
from pymongo import MongoClient, monitoring
from pymongo.errors import AutoReconnect, ExecutionTimeout, NetworkTimeout, NotPrimaryError, OperationFailure
from typer.testing import CliRunner

from helpers import run_in_process, valid
from nosql_advisor.cli import app
from nosql_advisor.demo.server import free_port, start_secantus
from nosql_advisor.sources import live

TOOL = "nosql-advisor"  # the appName of the tool's clients: fail points hit only them
FIRST_BATCH = 101  # documents in the first reply of a find or aggregate (the server's default)
live_test = pytest.mark.live  # the tests below without it reach no server


@pytest.fixture(scope="module")
def server():
    """A SecantusDB process of its own, with fail points enabled (never the shared test server);
    killed at the end (its data is throw-away: no clean shutdown to wait for)."""
    running = start_secantus(test_commands=True)
    try:
        yield running
    finally:
        running.process.kill()
        running.stop()


@pytest.fixture
def admin(server):
    """The test's own client (not the tool's appName, so fail points leave it alone); every fail
    point is switched off after the test."""
    with MongoClient(server.uri) as client:
        yield client
        client.admin.command("configureFailPoint", "failCommand", mode="off")


@pytest.fixture
def database(admin):
    name = f"faults_{uuid.uuid4().hex[:8]}"
    yield name
    admin.drop_database(name)


def fail(admin: MongoClient, mode, **data) -> None:
    """Arm `failCommand` for the tool's connections only."""
    admin.admin.command("configureFailPoint", "failCommand", mode=mode, data={"appName": TOOL, **data})


def fill(admin: MongoClient, database: str, counts: dict[str, int]) -> None:
    for name, count in counts.items():
        admin[database][name].insert_many([{"n": i, "label": f"doc {i}"} for i in range(count)])


class Commands(monitoring.CommandListener):
    """Every command the tool's clients send and how it ended, in order; `on_started` and
    `on_succeeded` let a test act at an exact point of the scan (drop a collection, stop the server)."""

    def __init__(self, on_started=None, on_succeeded=None) -> None:
        self.started_events: list[tuple[int, str, str, dict]] = []  # (request id, name, target, command)
        self.failed_events: list[tuple[str, str]] = []  # (name, target)
        self.first_batches: dict[tuple[str, str], list[list]] = {}  # (name, target) -> _ids of each first batch
        self.targets: dict[int, tuple[str, str]] = {}
        self.on_started, self.on_succeeded = on_started, on_succeeded

    def started(self, event) -> None:
        command = dict(event.command)
        target = str(command.get(event.command_name, ""))
        if event.command_name == "getMore":
            target = command.get("collection", "")
        self.targets[event.request_id] = (event.command_name, target)
        self.started_events.append((event.request_id, event.command_name, target, command))
        if self.on_started:
            self.on_started(event.command_name, target, command)

    def succeeded(self, event) -> None:
        name, target = self.targets.get(event.request_id, (event.command_name, ""))
        if name in ("find", "aggregate") and "cursor" in event.reply:
            batch = event.reply["cursor"].get("firstBatch", [])
            self.first_batches.setdefault((name, target), []).append([doc.get("_id") for doc in batch])
        if self.on_succeeded:
            self.on_succeeded(name, target)

    def failed(self, event) -> None:
        self.failed_events.append(self.targets.get(event.request_id, (event.command_name, "")))

    def sent(self, name: str, target: str) -> int:
        return sum(1 for _, n, t, _ in self.started_events if (n, t) == (name, target))

    def failures(self, name: str, target: str) -> int:
        return self.failed_events.count((name, target))


def scan_in_process(commands: Commands, *args: str):
    """`nosql-advisor scan ARGS` in this process with `commands` listening to the tool's clients."""
    live.MONITORS.append(commands)
    try:
        return CliRunner().invoke(app, ["scan", *args])
    finally:
        live.MONITORS.remove(commands)


def report_of(out) -> dict:
    return json.loads((out / "report.json").read_text())


def collections_of(out) -> dict[str, dict]:
    return {c["namespace"]: c for c in report_of(out)["collections"]}


# -- retries -----------------------------------------------------------------------------

@live_test
def test_a_getmore_that_keeps_failing_is_tried_three_times_then_only_that_collection_is_incomplete(
        server, admin, database, tmp_path):
    fill(admin, database, {"big": 300, "small": 50})  # big: read whole by find, needs getMore; small: one batch
    fail(admin, "alwaysOn", failCommands=["getMore"], errorCode=91)  # ShutdownInProgress
    commands = Commands()
    result = scan_in_process(commands, server.uri, "--db", database, "--out", str(tmp_path / "out"), "-q")
    assert result.exit_code == 4, result.output
    found = collections_of(tmp_path / "out")
    big, small = found[f"{database}.big"], found[f"{database}.small"]
    assert commands.failures("getMore", "big") == 3  # bounded: three tries, then it stops
    assert commands.sent("find", "big") == 3  # each try restarted the read
    read_once = {repr(i) for batch in commands.first_batches["find", "big"] for i in batch}
    returned = sum(len(batch) for batch in commands.first_batches["find", "big"])
    assert returned == 3 * FIRST_BATCH and len(read_once) < returned  # the restarts re-read documents...
    assert big["sampled"] == len(read_once)  # ...each counted once; what was read is kept
    assert big["status"] == "incomplete"
    assert "failed 3 times" in big["status_reason"]
    assert f"{len(read_once)} of 300 documents read" in big["status_reason"]
    assert small["status"] == "complete" and small["sampled"] == 50
    assert f"{database}.big: incomplete: find failed 3 times" in result.output


@live_test
@pytest.mark.parametrize("fault", [{"errorCode": 11600}, {"closeConnection": True}],
                         ids=["InterruptedAtShutdown", "connection-closed"])
def test_a_transient_getmore_failure_is_retried_and_the_sample_is_whole(server, admin, database, tmp_path, fault):
    fill(admin, database, {"orders": 1500})  # more than -n 1000: a $sample
    fail(admin, {"times": 2}, failCommands=["getMore"], **fault)  # twice, then the getMore goes through
    commands = Commands()
    result = scan_in_process(commands, server.uri, "--db", database, "--out", str(tmp_path / "out"), "-q")
    assert result.exit_code == 0, result.output
    orders = collections_of(tmp_path / "out")[f"{database}.orders"]
    assert orders["status"] == "complete" and orders["sampled"] == 1000
    assert commands.failures("getMore", "orders") == 2
    assert commands.sent("aggregate", "orders") == 1 + 3  # $collStats, then the $sample tried three times


@live_test
def test_a_count_failure_is_retried_then_the_count_is_right(server, admin, database, tmp_path):
    fill(admin, database, {"users": 40})
    fail(admin, {"times": 1}, failCommands=["count"], errorCode=10107)  # NotWritablePrimary, once
    commands = Commands()
    result = scan_in_process(commands, server.uri, "--db", database, "--out", str(tmp_path / "out"), "-q")
    assert result.exit_code == 0, result.output
    users = collections_of(tmp_path / "out")[f"{database}.users"]
    assert users["documents_estimated"] == 40 and users["status"] == "complete"
    assert commands.sent("count", "users") == 2


# -- dropped -----------------------------------------------------------------------------

@live_test
def test_a_collection_dropped_before_sampling_is_dropped_not_empty(server, admin, database, tmp_path):
    fill(admin, database, {"a_vanishing": 5000, "b_stays": 30})

    def drop_after_counting(name, target, command):  # the count said 5000; now it goes
        if name == "aggregate" and target == "a_vanishing" and "$collStats" in command["pipeline"][0]:
            admin[database].drop_collection("a_vanishing")

    result = scan_in_process(Commands(on_started=drop_after_counting), server.uri, "--db", database,
                             "--out", str(tmp_path / "out"), "-q")
    assert result.exit_code == 4, result.output
    found = collections_of(tmp_path / "out")
    vanished = found[f"{database}.a_vanishing"]
    assert vanished["status"] == "dropped" and vanished["documents_estimated"] == 5000
    assert "before it was sampled: listed with about 5,000 documents" in vanished["status_reason"]
    assert "empty" not in json.dumps(report_of(tmp_path / "out")["problems"]) + result.output
    assert found[f"{database}.b_stays"]["status"] == "complete"


@live_test
def test_a_collection_dropped_mid_cursor_is_dropped_with_what_was_read(server, admin, database, tmp_path):
    fill(admin, database, {"logs": 400, "users": 30})

    def drop_after_first_batch(name, target):
        if (name, target) == ("find", "logs"):
            admin[database].drop_collection("logs")

    commands = Commands(on_succeeded=drop_after_first_batch)
    result = scan_in_process(commands, server.uri, "--db", database, "--out", str(tmp_path / "out"), "-q")
    assert result.exit_code == 4, result.output
    found = collections_of(tmp_path / "out")
    logs = found[f"{database}.logs"]
    assert logs["status"] == "dropped"
    assert logs["sampled"] == len(commands.first_batches["find", "logs"][0]) == FIRST_BATCH  # kept what was read
    assert found[f"{database}.users"]["status"] == "complete"


# -- timeouts ----------------------------------------------------------------------------

@live_test
def test_max_time_ms_too_low_times_out_the_big_collection_and_the_report_is_written(server, admin, database, tmp_path):
    # counting and sampling 20,000 documents takes SecantusDB far longer than 150 ms; 20 takes 1 ms
    admin[database].big.insert_many([{"n": i} for i in range(20_000)])
    fill(admin, database, {"small": 20})
    done = run_in_process("scan", server.uri, "--db", database, "--max-time-ms", "150", "--out", "out", "-q", cwd=tmp_path)
    assert done.returncode == 4, done.stderr
    found = collections_of(tmp_path / "out")
    big = found[f"{database}.big"]
    assert big["status"] == "timed_out"
    assert "ran past --max-time-ms 150" in big["status_reason"]
    assert found[f"{database}.small"]["status"] == "complete" and found[f"{database}.small"]["sampled"] == 20
    assert f"error: {database}.big: timed out:" in done.stderr


@pytest.fixture
def own_server():
    """A server this test may stop or kill (resumed, then removed, whatever happens)."""
    running = start_secantus(test_commands=True)
    try:
        yield running
    finally:
        try:
            os.kill(running.process.pid, signal.SIGCONT)
            running.process.kill()  # its data is throw-away: no clean shutdown to wait for
        except ProcessLookupError:
            pass
        running.process.wait()
        running.stop()


def stop_at_second_read(own_server, how: signal.Signals, moments: dict, command_name: str = "find"):
    """A listener action: when the tool sends `command_name` for the second collection, `how` the server."""
    def act(name, target, command):
        if (name, target) == (command_name, "c1") and "at" not in moments:
            moments["at"] = time.monotonic()
            os.kill(own_server.process.pid, how)
    return act


def stalled_scan(own_server, database: str, moments: dict, tmp_path, command_name: str = "find"):
    """`scan` of `database`, one collection at a time, with the server stopped (SIGSTOP) when
    `command_name` of the second collection is sent; a watchdog resumes it after 90 s so a
    tool that hangs fails the test instead of the suite."""
    watchdog = threading.Timer(90, lambda: os.kill(own_server.process.pid, signal.SIGCONT))
    watchdog.start()
    try:
        stop = stop_at_second_read(own_server, signal.SIGSTOP, moments, command_name)
        return scan_in_process(Commands(on_started=stop), own_server.uri, "--db", database, "--concurrency", "1",
                               "--max-time-ms", "1000", "--out", str(tmp_path / "out"), "-q")
    finally:
        watchdog.cancel()


@live_test
def test_a_server_that_stops_answering_ends_the_run_a_few_seconds_after_max_time_ms(own_server, tmp_path):
    with MongoClient(own_server.uri) as client:
        fill(client, "stall", {f"c{i}": 200 for i in range(5)})
    moments: dict = {}
    result = stalled_scan(own_server, "stall", moments, tmp_path)
    waited = time.monotonic() - moments["at"]
    assert result.exit_code == 4, result.output
    # the socket gives up 5 s after maxTimeMS, a ping gets 2 s: 8 s, not a timeout per collection
    assert waited < 1 + 5 + 2 + 3, waited
    assert valid(report_of(tmp_path / "out")) == []
    found = collections_of(tmp_path / "out")
    assert found["stall.c0"]["status"] == "complete" and found["stall.c0"]["sampled"] == 200
    assert found["stall.c1"]["status"] == "timed_out"
    assert "did not answer find within 6 s" in found["stall.c1"]["status_reason"]
    for name in ("stall.c2", "stall.c3", "stall.c4"):
        assert found[name]["status"] == "incomplete"
        assert found[name]["status_reason"].startswith("not read: the server stopped answering")


@live_test
def test_a_server_that_stops_answering_while_collections_are_described_ends_the_run_as_soon(own_server, tmp_path):
    with MongoClient(own_server.uri) as client:
        fill(client, "stall", {f"c{i}": 200 for i in range(4)})
    moments: dict = {}
    result = stalled_scan(own_server, "stall", moments, tmp_path, command_name="listIndexes")
    waited = time.monotonic() - moments["at"]
    assert result.exit_code == 4, result.output
    assert waited < 1 + 5 + 2 + 3, waited
    found = collections_of(tmp_path / "out")
    assert found["stall.c1"]["status"] == "timed_out"
    assert "did not answer listIndexes within 6 s" in found["stall.c1"]["status_reason"]
    assert valid(report_of(tmp_path / "out")) == []  # c2 and c3 were not even counted
    for name in ("stall.c0", "stall.c2", "stall.c3"):  # c0 was described, but no document was read
        assert found[name]["status"] == "incomplete" and found[name]["sampled"] == 0
        assert "the server stopped answering" in found[name]["status_reason"]


@live_test
def test_the_server_killed_mid_run_leaves_an_honest_partial_report(own_server, tmp_path):
    with MongoClient(own_server.uri) as client:
        fill(client, "doomed", {f"c{i}": 200 for i in range(4)})
    moments: dict = {}
    started = time.monotonic()
    result = scan_in_process(Commands(on_started=stop_at_second_read(own_server, signal.SIGKILL, moments)),
                             own_server.uri, "--db", "doomed", "--concurrency", "1", "--max-time-ms", "1000",
                             "--out", str(tmp_path / "out"), "-q")
    assert result.exit_code == 4, result.output
    assert time.monotonic() - started < 30
    assert valid(report_of(tmp_path / "out")) == []  # the partial report keeps the contract
    found = collections_of(tmp_path / "out")
    assert found["doomed.c0"]["status"] == "complete" and found["doomed.c0"]["sampled"] == 200
    assert found["doomed.c1"]["status"] == "incomplete" and found["doomed.c1"]["sampled"] == 0
    assert "the server could not be reached" in found["doomed.c1"]["status_reason"]
    for name in ("doomed.c2", "doomed.c3"):
        assert found[name]["status"] == "incomplete" and found[name]["status_reason"].startswith("not read:")


def test_no_server_at_the_first_contact_is_exit_3(tmp_path):
    uri = f"mongodb://127.0.0.1:{free_port()}/"  # nothing listens there
    started = time.monotonic()  # in this process, to time the wait without Python's start-up
    done = run_in_process("scan", uri, "--max-time-ms", "200", "--out", "out", "-q", cwd=tmp_path)
    assert time.monotonic() - started < 0.2 + 5 + 2  # finding the server waits max-time-ms + 5 s at most
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith(f"error: {uri}: cannot connect (")
    assert done.stderr.count("\n") == 1 and not (tmp_path / "out").exists()


# -- metadata failures -------------------------------------------------------------------

@live_test
def test_list_collections_refused_for_one_database_marks_that_one_and_the_others_go_on(server, admin, tmp_path):
    base = f"faults_{uuid.uuid4().hex[:6]}"
    first, second = f"{base}_a", f"{base}_b"  # listed in this order
    try:
        fill(admin, first, {"things": 10})
        fill(admin, second, {"secrets": 10})
        fail(admin, {"skip": 1, "times": 1}, failCommands=["listCollections"], errorCode=13)  # the second database
        done = run_in_process("scan", server.uri, "--db", first, "--db", second, "--out", "out", "-q", cwd=tmp_path)
        assert done.returncode == 3, done.stderr
        assert f"error: {second}: its collections were not listed" in done.stderr
        assert "not authorised for listCollections" in done.stderr
        found = collections_of(tmp_path / "out")
        assert list(found) == [f"{first}.things"] and found[f"{first}.things"]["status"] == "complete"
    finally:
        admin.drop_database(first)
        admin.drop_database(second)


@live_test
def test_list_indexes_refused_for_one_collection_marks_that_one_and_its_index_rules(server, admin, database, tmp_path):
    fill(admin, database, {"a_orders": 20, "b_users": 20})
    admin[database].b_users.create_index("n", name="n_1")
    fail(admin, {"times": 1}, failCommands=["listIndexes"], errorCode=13)  # the first collection's
    done = run_in_process("scan", server.uri, "--db", database, "--out", "out", "-q", cwd=tmp_path)
    assert done.returncode == 4, done.stderr
    report = report_of(tmp_path / "out")
    found = {c["namespace"]: c for c in report["collections"]}
    orders = found[f"{database}.a_orders"]
    assert orders["status"] == "incomplete" and "not authorised for listIndexes" in orders["status_reason"]
    assert orders["sampled"] == 20  # its documents were still read
    unchecked = {e["rule"] for e in report["coverage"] if e["namespace"] == f"{database}.a_orders" and e["status"] == "not_checked"}
    assert {"DM401", "DM403", "DM404", "DM603"} <= unchecked
    users = found[f"{database}.b_users"]
    assert users["status"] == "complete" and {i["name"] for i in users["indexes"]} == {"_id_", "n_1"}


@live_test
def test_every_form_says_what_was_read_in_part_and_what_was_not_checked(server, admin, database, tmp_path):
    fill(admin, database, {"a_orders": 20, "b_users": 20})
    fail(admin, {"times": 1}, failCommands=["listIndexes"], errorCode=13)  # a_orders' index list
    done = run_in_process("scan", server.uri, "--db", database, "--out", "out", cwd=tmp_path)
    assert done.returncode == 4, done.stderr
    out, orders = tmp_path / "out", f"{database}.a_orders"
    summary = " ".join(done.stdout.split())  # the terminal summary
    assert f"read only in part: {orders} incomplete: " in summary
    assert "not checked: " in summary and "not authorised for listIndexes" in summary
    markdown = (out / "report.md").read_text()
    assert "collections read only in part" in markdown and f"{orders} incomplete:" in markdown
    assert "**Not checked:**" in markdown and "DM403" in markdown.split("**Not checked:**")[1]
    html = (out / "report.html").read_text()
    assert "collections read only in part" in html and "Not checked:" in html
    invocation = json.loads((out / "report.sarif").read_text())["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    texts = [(n["level"], n["message"]["text"]) for n in invocation["toolExecutionNotifications"]]
    assert any(level == "error" and orders in t and "read only in part" in t for level, t in texts)
    assert any(level == "warning" and "not checked" in t and "DM403" in t for level, t in texts)
    unchecked = {(e["namespace"], e["rule"]) for e in report_of(out)["coverage"] if e["status"] == "not_checked"}
    findings = {(f["namespace"], f["rule"]) for f in report_of(out)["findings"]}
    assert (orders, "DM403") in unchecked and not findings & unchecked  # no finding where nothing was checked


@live_test
def test_a_count_that_fails_for_good_marks_that_collection_only(server, admin, database, tmp_path):
    fill(admin, database, {"a_orders": 20, "b_users": 20})
    fail(admin, {"times": 1}, failCommands=["count"], errorCode=2)  # BadValue: not retryable
    done = run_in_process("scan", server.uri, "--db", database, "--out", "out", "-q", cwd=tmp_path)
    assert done.returncode == 4, done.stderr
    found = collections_of(tmp_path / "out")
    assert found[f"{database}.a_orders"]["status"] == "incomplete"
    assert "estimatedDocumentCount failed" in found[f"{database}.a_orders"]["status_reason"]
    assert found[f"{database}.b_users"]["status"] == "complete"


@live_test
def test_collstats_not_authorised_leaves_storage_unknown_with_a_note(server, admin, database, tmp_path):
    # SecantusDB's roles do not tell $collStats apart from find, so the fail point answers as
    # mongod does for a role without the collStats action: Unauthorized (13)
    fill(admin, database, {"orders": 20})
    fail(admin, {"times": 1}, failCommands=["aggregate"], errorCode=13)  # the first aggregate: $collStats
    done = run_in_process("scan", server.uri, "--db", database, "--out", "out", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = report_of(tmp_path / "out")
    orders = report["collections"][0]
    assert orders["status"] == "complete" and orders["sampled"] == 20 and "storage" not in orders
    notes = [p["message"] for p in report["problems"] if p["where"] == f"{database}.orders"]
    assert any(n.startswith("storage sizes not read (not authorised for $collStats") for n in notes), notes


# -- what a failure means, without a server ----------------------------------------------

@pytest.mark.parametrize("error, retryable", [
    (NotPrimaryError("shutting down", {"code": 91, "errmsg": "x"}), True),
    (OperationFailure("stepped down", 189), True),
    (OperationFailure("ExceededTimeLimit", 262), True),
    (AutoReconnect("connection reset"), True),
    (NetworkTimeout("timed out"), False),  # another try would wait as long again
    (ExecutionTimeout("operation exceeded time limit", 50), False),
    (OperationFailure("not authorised", 13), False),
    (OperationFailure("cursor not found", 43), False),
])
def test_which_errors_are_retried(error, retryable):
    assert live.is_retryable(error) is retryable


def test_client_timeouts_follow_max_time_ms_and_the_uri_wins():
    client = live.open_client("mongodb://127.0.0.1:1/", live.LiveOptions(max_time_ms=2000))
    assert client.options.pool_options.socket_timeout == 7.0  # 2 s, plus 5 s
    assert client.options.server_selection_timeout == 7.0  # never longer than that either
    chosen = live.open_client("mongodb://127.0.0.1:1/?socketTimeoutMS=1234", live.LiveOptions(max_time_ms=2000))
    assert chosen.options.pool_options.socket_timeout == 1.234
    csot = live.open_client("mongodb://127.0.0.1:1/?timeoutMS=3000", live.LiveOptions(max_time_ms=2000))
    assert csot.options.timeout == 3.0  # the URI chose PyMongo's CSOT
