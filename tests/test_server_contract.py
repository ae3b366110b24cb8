"""The server contract, seen by PyMongo's command monitoring on the clients the tool builds: a
`CommandListener` appended to `nosql_advisor.sources.live.MONITORS` sees every command that
`scan`, `diff`, `validators` (without --apply) and `queries --profile` send to a real server
(SecantusDB, or NOSQL_ADVISOR_TEST_URI). Every one is a read from an allow-list, carries
`maxTimeMS` where the command takes one, asks for `secondaryPreferred` unless the URI chooses
another read preference, stays in the scanned database (admin only for listDatabases and the
driver's handshake and session commands), and none reads or sets the profiling level."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from pymongo import MongoClient, monitoring
from typer.testing import CliRunner

from nosql_advisor.cli import app
from nosql_advisor.demo import build_demo, load_live
from nosql_advisor.sources import live

READS = {"hello", "isMaster", "ismaster", "buildInfo", "buildinfo", "listDatabases", "listCollections",
         "listIndexes", "count", "aggregate", "find", "getMore", "killCursors", "endSessions", "saslStart",
         "saslContinue", "ping", "collStats", "dbStats"}
# the commands that take maxTimeMS (getMore only for tailable cursors, which the tool never opens)
TIMED = {"listDatabases", "listCollections", "listIndexes", "count", "aggregate", "find", "collStats", "dbStats"}
# the driver's own: handshake, authentication, sessions, cursor follow-ups on the server already chosen
DRIVER = {"hello", "isMaster", "ismaster", "buildInfo", "buildinfo", "ping", "saslStart", "saslContinue",
          "endSessions", "getMore", "killCursors"}
ON_ADMIN = DRIVER | {"listDatabases"}
WRITING_STAGES = {"$out", "$merge"}


class Recorder(monitoring.CommandListener):
    """Every command started: (database, command name, the command document)."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str, dict]] = []

    def started(self, event) -> None:
        self.commands.append((event.database_name, event.command_name, dict(event.command)))

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def with_option(uri: str, option: str) -> str:
    """`uri` with one more query option (`readPreference=primary`)."""
    if "?" in uri:
        return f"{uri}&{option}"
    return f"{uri}{'' if uri.endswith('/') else '/'}?{option}"


def run_in_process(*args: str) -> list[tuple[str, str, dict]]:
    """`nosql-advisor ARGS` in this process, with a listener on every client it builds."""
    recorder = Recorder()
    live.MONITORS.append(recorder)
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        live.MONITORS.remove(recorder)
    assert result.exit_code in (0, 1), (result.exit_code, repr(result.exception), result.output)
    return recorder.commands


def breaches(commands: list[tuple[str, str, dict]], database: str) -> list[str]:
    """Each command that is not a timed read of `database`, in words (none: the contract holds)."""
    found = []
    for db, name, command in commands:
        if name not in READS:
            found.append(f"{db}.{name}: not a read")
        if name == "aggregate" and any(WRITING_STAGES & set(stage) for stage in command.get("pipeline", [])):
            found.append(f"{db}.aggregate: writes ({command['pipeline']})")
        if name in TIMED and "maxTimeMS" not in command:
            found.append(f"{db}.{name}: no maxTimeMS")
        if db != database and not (db == "admin" and name in ON_ADMIN):
            found.append(f"{db}.{name}: outside {database}")
    return found


def read_preference_breaches(commands: list[tuple[str, str, dict]], mode: str) -> list[str]:
    """Each command the tool chose a server for with another read preference than `mode` (on a
    replica set a driver sends `$readPreference` unless the mode is primary)."""
    found = []
    for db, name, command in commands:
        sent = (command.get("$readPreference") or {}).get("mode", "primary")
        if name not in DRIVER and sent != mode:
            found.append(f"{db}.{name}: read preference {sent}")
    return found


@pytest.fixture(scope="module")
def contract_db(mongo_uri):
    """The demo database under a fresh name, with a few profiled operations to read back; the
    profiler is left off (level 0) as the test found it."""
    demo = dataclasses.replace(build_demo(scale=0.1), database=f"contract_{uuid.uuid4().hex[:8]}")
    load_live(demo, mongo_uri)
    client = MongoClient(mongo_uri)
    database = client[demo.database]
    order = database.orders.find_one({})
    database.command("profile", 2)
    try:
        for _ in range(3):
            list(database.orders.find({"tenant_id": order["tenant_id"], "customer_id": order["customer_id"]}))
            list(database.orders.aggregate([{"$match": {"tenant_id": order["tenant_id"]}}, {"$limit": 2}]))
    finally:
        database.command("profile", 0)
    replica_set = "setName" in client.admin.command("hello")
    yield demo.database, replica_set
    client.drop_database(demo.database)
    client.close()


@pytest.fixture(scope="module")
def sent(mongo_uri, contract_db, tmp_path_factory) -> dict[str, list[tuple[str, str, dict]]]:
    """What the four read-only tool commands sent, once for the tests below."""
    return tool_commands(mongo_uri, contract_db[0], tmp_path_factory.mktemp("contract"))


def tool_commands(uri: str, name: str, tmp_path) -> dict[str, list[tuple[str, str, dict]]]:
    """The commands of each read-only command of the tool, by tool command."""
    return {
        "scan": run_in_process("scan", uri, "--db", name, "--profile", uri, "--out", str(tmp_path / "out"), "-q"),
        "diff": run_in_process("diff", uri, "--db", name, "-q"),
        "validators": run_in_process("validators", uri, "--db", name, "--out", str(tmp_path / "v"), "-q"),
        "queries": run_in_process("queries", "--profile", uri, "--db", name, "--json"),
    }


@pytest.mark.live
def test_every_command_of_scan_diff_validators_and_queries_is_a_timed_read_of_the_scanned_database(
        contract_db, sent):
    name, _ = contract_db
    for tool, commands in sent.items():
        names = {command_name for _, command_name, _ in commands}
        assert {"find", "aggregate", "count", "listIndexes"} <= names, (tool, names)  # the listener saw the tool
        found = breaches(commands, name)
        assert not found, f"{tool}: {sorted(set(found))}"
    assert "listCollections" in {n for _, n, _ in sent["scan"]}
    profile_reads = [c for _, n, c in sent["queries"] if n == "find" and c.get("find") == "system.profile"]
    assert profile_reads and profile_reads[0]["$db"] == name


@pytest.mark.live
def test_every_command_of_scan_diff_validators_and_queries_asks_for_secondary_preferred(contract_db, sent):
    if not contract_db[1]:
        pytest.skip("standalone server: drivers send no $readPreference to one (SecantusDB's default is a replica set)")
    for tool, commands in sent.items():
        found = read_preference_breaches(commands, "secondaryPreferred")
        assert not found, f"{tool}: {sorted(set(found))}"


@pytest.mark.live
def test_no_command_reads_or_sets_the_profiling_level(sent):
    assert [(tool, db) for tool, commands in sent.items() for db, n, _ in commands if n == "profile"] == []


@pytest.mark.live
def test_a_uri_that_asks_for_the_primary_is_honoured(mongo_uri, contract_db, tmp_path):
    name, _ = contract_db
    primary = with_option(mongo_uri, "readPreference=primary")
    for tool, commands in tool_commands(primary, name, tmp_path).items():
        assert commands, tool
        found = read_preference_breaches(commands, "primary") + breaches(commands, name)
        assert not found, f"{tool}: {sorted(set(found))}"


def test_the_contract_checks_catch_a_write_an_untimed_read_a_stray_database_and_the_primary():
    """The checks above can fail: each kind of breach they look for is named."""
    commands = [("shop", "insert", {"insert": "orders"}),
                ("shop", "aggregate", {"aggregate": "orders", "pipeline": [{"$out": "copy"}], "maxTimeMS": 5,
                                       "$readPreference": {"mode": "secondaryPreferred"}}),
                ("shop", "find", {"find": "orders", "$readPreference": {"mode": "secondaryPreferred"}}),
                ("local", "find", {"find": "oplog.rs", "maxTimeMS": 5, "$readPreference": {"mode": "secondaryPreferred"}}),
                ("shop", "count", {"count": "orders", "maxTimeMS": 5}),
                ("shop", "profile", {"profile": -1}),
                ("admin", "endSessions", {"endSessions": [], "$readPreference": {"mode": "primaryPreferred"}})]
    assert breaches(commands, "shop") == [
        "shop.insert: not a read", "shop.aggregate: writes ([{'$out': 'copy'}])", "shop.find: no maxTimeMS",
        "local.find: outside shop", "shop.profile: not a read"]
    assert read_preference_breaches(commands, "secondaryPreferred") == [
        "shop.insert: read preference primary", "shop.count: read preference primary",
        "shop.profile: read preference primary"]
