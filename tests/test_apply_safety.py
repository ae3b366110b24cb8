"""`--apply` writes only what was asked and never weakens what is there; `demo load` asks before
it drops a database. The live tests talk to SecantusDB processes over TCP: the session server
for plain applies, and servers of their own for a fail point (`--enable-test-commands`) and for
`--auth`, so neither touches another test."""

from __future__ import annotations

import json
import re
import shlex
import uuid
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from bson import json_util
from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo import MongoClient, monitoring

from helpers import run_in_process, throwaway
from nosql_advisor import apply
from nosql_advisor.schema.dialect import validator_for
from nosql_advisor.schema.loosen import schema_loosenings, validator_loosenings
from nosql_advisor.sources import live

# A hand-written validator as a team enforces it: everything a validator generated from data lacks.
STRICT = {"$jsonSchema": {
    "bsonType": "object", "required": ["sku", "qty"], "additionalProperties": False,
    "properties": {
        "_id": {"bsonType": "objectId"},
        "sku": {"bsonType": "string", "pattern": "^[A-Z]{3}-[0-9]+$", "maxLength": 12},
        "qty": {"bsonType": "int", "minimum": 0, "maximum": 100},
        "state": {"enum": ["new", "paid"]},
        "tags": {"bsonType": "array", "maxItems": 3, "items": {"bsonType": "string", "minLength": 1}},
    },
}}
STRICT_LOOSENED = {("sku", "pattern"), ("sku", "maxLength"), ("qty", "minimum"), ("qty", "maximum"),
                   ("state", "enum"), ("tags", "maxItems"), ("tags[]", "minLength"), ("", "additionalProperties")}
CONFORMING = [{"sku": "ABC-1", "qty": 3, "state": "new", "tags": ["a"]},
              {"sku": "ABD-22", "qty": 50, "state": "paid", "tags": []}]
# what `validators` generates from CONFORMING, in substance: types, required, nested properties
GENERATED = {"$jsonSchema": {
    "bsonType": "object", "required": ["_id", "qty", "sku", "state", "tags"],
    "properties": {"_id": {"bsonType": "objectId"}, "sku": {"bsonType": "string"}, "qty": {"bsonType": "int"},
                   "state": {"bsonType": "string"}, "tags": {"bsonType": "array", "items": {"bsonType": "string"}}},
}}


def places(loosenings) -> set[tuple[str, str]]:
    return {(loose.path, loose.keyword) for loose in loosenings}


# -- what counts as loosening (no server) -------------------------------------------------------

def test_a_generated_validator_loosens_each_constraint_a_hand_written_one_has_and_it_lacks():
    assert places(validator_loosenings(STRICT, GENERATED)) == STRICT_LOOSENED


def test_a_new_schema_at_least_as_strict_everywhere_loosens_nothing():
    stricter = {"$jsonSchema": {
        "bsonType": "object", "required": ["qty", "sku", "state"], "additionalProperties": False,
        "properties": {
            "_id": {"bsonType": "objectId"},
            "sku": {"bsonType": "string", "pattern": "^[A-Z]{3}-[0-9]+$", "maxLength": 10, "minLength": 5},
            "qty": {"bsonType": "int", "minimum": 1, "maximum": 100, "exclusiveMaximum": True},
            "state": {"enum": ["paid"]},
            "tags": {"bsonType": "array", "maxItems": 2, "items": {"bsonType": "string", "minLength": 2}},
        },
    }}
    assert validator_loosenings(STRICT, stricter) == []


@pytest.mark.parametrize("old, new, expected", [
    ({"bsonType": "int"}, {"bsonType": ["int", "string"]}, ("", "bsonType")),
    ({"type": "number"}, {"bsonType": ["int", "string"]}, ("", "type")),
    ({"enum": ["a", "b"]}, {"enum": ["a", "b", "c"]}, ("", "enum")),
    ({"maximum": 10}, {"maximum": 11}, ("", "maximum")),
    ({"minimum": 5, "exclusiveMinimum": True}, {"minimum": 5}, ("", "minimum")),
    ({"multipleOf": 5}, {"multipleOf": 2}, ("", "multipleOf")),
    ({"uniqueItems": True}, {}, ("", "uniqueItems")),
    ({"pattern": "^a"}, {"pattern": "^ab?"}, ("", "pattern")),
    ({"anyOf": [{"bsonType": "int"}, {"bsonType": "string"}]}, {}, ("", "anyOf")),
    ({"required": ["a", "b"]}, {"required": ["a"]}, ("b", "required")),
    ({"properties": {"a": {"properties": {"b": {"maxLength": 3}}}}},
     {"properties": {"a": {"properties": {"b": {}}}}}, ("a.b", "maxLength")),
    ({"properties": {"items": {"items": {"properties": {"sku": {"enum": ["x"]}}}}}},
     {"properties": {"items": {"items": {"properties": {"sku": {"bsonType": "string"}}}}}}, ("items[].sku", "enum")),
    ({"additionalProperties": False, "properties": {"a": {}}},
     {"additionalProperties": False, "properties": {"a": {}, "b": {}}}, ("", "additionalProperties")),
    ({"additionalProperties": {"bsonType": "int"}}, {}, ("*", "bsonType")),
])
def test_each_kind_of_widening_is_a_loosening_at_its_path(old, new, expected):
    assert places(schema_loosenings(old, new)) == {expected}


def test_query_operator_clauses_the_new_validator_does_not_repeat_are_removed():
    old = {"$and": [{"$jsonSchema": {"required": ["qty"]}}, {"qty": {"$gte": 0}}],
           "$or": [{"state": "new"}, {"paid_at": {"$exists": True}}]}
    new = {"$jsonSchema": {"required": ["qty", "sku"]}}
    assert places(validator_loosenings(old, new)) == {("qty", "$gte"), ("", "$or")}
    assert validator_loosenings(old, {"$jsonSchema": {"required": ["qty"]}, "qty": {"$gte": 0},
                                      "$or": [{"state": "new"}, {"paid_at": {"$exists": True}}]}) == []


KEYWORDS = {
    "bsonType": st.sampled_from(["int", "string", "null", ["int", "string"], ["int", "null"]]),
    "enum": st.lists(st.sampled_from([0, 1, 5, "a", "b", None]), min_size=1, max_size=4, unique=True),
    "minimum": st.integers(-3, 6), "maximum": st.integers(-3, 6),
    "exclusiveMinimum": st.booleans(), "exclusiveMaximum": st.booleans(),
    "minLength": st.integers(0, 3), "maxLength": st.integers(0, 3),
    "pattern": st.sampled_from(["^a", "b$"]),
}
# every value the keywords above can tell apart: each bound, each side of it, each kind
VALUES = [*range(-4, 8), 2.5, "", "a", "b", "ab", "ba", "bab", "abba", None, True]


@st.composite
def schema_pairs(draw):
    """A field schema and a new one made from it: each keyword kept, dropped or redrawn, so the
    new one is often as strict (the interesting case) and often not."""
    chosen = draw(st.sets(st.sampled_from(sorted(KEYWORDS)), max_size=3))
    old = {keyword: draw(KEYWORDS[keyword]) for keyword in sorted(chosen)}
    new = {}
    for keyword, values in KEYWORDS.items():
        choice = draw(st.sampled_from(["keep", "keep", "drop", "redraw"]))
        if choice == "keep" and keyword in old:
            new[keyword] = old[keyword]
        elif choice == "redraw":
            new[keyword] = draw(values)
    return old, new


@settings(max_examples=400, deadline=None)
@given(pair=schema_pairs())
def test_when_nothing_is_reported_every_value_the_new_schema_accepts_the_old_one_accepts(pair):
    """Soundness: a silence of the comparison is never a loosening the documents could show."""
    old, new = pair
    assert schema_loosenings(old, old) == []
    if schema_loosenings(old, new):
        return
    old_check, new_check = validator_for({"properties": {"f": old}}), validator_for({"properties": {"f": new}})
    for value in VALUES:
        if new_check.is_valid({"f": value}):
            assert old_check.is_valid({"f": value}), (old, new, value)


# -- against a server ---------------------------------------------------------------------------

@pytest.fixture
def database(mongo_uri):
    client = MongoClient(mongo_uri)
    name = f"apply_{uuid.uuid4().hex[:8]}"
    yield client[name]
    client.drop_database(name)
    client.close()


def options_of(collection) -> dict:
    return {k: v for k, v in collection.options().items() if k in apply.VALIDATION_OPTIONS}


def apply_validators(mongo_uri: str, database, tmp_path: Path, *extra: str, collection: str = "*"):
    return run_in_process("validators", mongo_uri, "--db", database.name, "-c", collection, "--out", "v",
                          "--apply", "--yes", "-q", *extra, cwd=tmp_path)


def run_saved_restore(client: MongoClient, script: Path) -> None:
    """What `mongosh "$URI" --file script` does with the restore scripts: the EJSON command it holds."""
    for database, command in re.findall(r'getSiblingDB\((".*?")\)\.runCommand\(EJSON\.parse\((".*")\)\)',
                                        script.read_text()):
        client[json.loads(database)].command(json_util.loads(json.loads(command)))


@pytest.mark.live
def test_apply_leaves_a_stricter_validator_alone_and_lists_what_it_would_remove(mongo_uri, database, tmp_path):
    database.create_collection("orders", validator=STRICT, validationLevel="strict", validationAction="error")
    database.orders.insert_many(CONFORMING)
    before = options_of(database.orders)
    done = apply_validators(mongo_uri, database, tmp_path)
    assert done.returncode == 1, done.stderr  # refused: not everything asked was applied
    assert f"{database.name}.orders: REFUSED" in done.stderr
    listed = set(re.findall(r"^\s+- (\S+): (\w+) ", done.stderr, re.M))
    assert {(path.replace("(document)", ""), keyword) for path, keyword in listed} == STRICT_LOOSENED
    assert "validationLevel strict -> moderate" in done.stderr
    assert "validationAction error -> warn" in done.stderr
    assert options_of(database.orders) == before
    assert "collMod done" not in done.stderr


@pytest.mark.live
def test_allow_loosen_replaces_it_after_saving_the_previous_validator_and_its_restore(mongo_uri, database, tmp_path):
    database.create_collection("orders", validator=STRICT, validationLevel="strict", validationAction="error")
    database.orders.insert_many(CONFORMING)
    before = options_of(database.orders)
    done = apply_validators(mongo_uri, database, tmp_path, "--allow-loosen")
    assert done.returncode == 0, done.stderr
    after = options_of(database.orders)
    assert (after["validationLevel"], after["validationAction"]) == ("moderate", "warn")
    assert "pattern" not in json.dumps(after["validator"])
    plan, _, results = done.stderr.partition("collMod done")
    restore = re.search(r'to restore them: mongosh "\$URI" --file (\S+)', plan)
    assert restore, plan  # the plan named the restore script before the first change
    saved = json_util.loads((tmp_path / restore.group(1)).parent.joinpath(f"{database.name}.orders.json").read_text())
    assert {k: saved[k] for k in apply.VALIDATION_OPTIONS} == before
    run_saved_restore(database.client, tmp_path / restore.group(1))
    assert options_of(database.orders) == before


@pytest.mark.live
def test_the_plan_says_add_or_replace_and_a_stricter_level_and_action_are_kept(mongo_uri, database, tmp_path):
    database.create_collection("fresh")
    database.fresh.insert_many([{"sku": "a"}, {"sku": "b"}])
    database.create_collection("lax", validator={"$jsonSchema": {"bsonType": "object", "required": ["_id"]}},
                               validationLevel="strict", validationAction="error")
    database.lax.insert_many([{"sku": "a"}, {"sku": "b"}])
    done = apply_validators(mongo_uri, database, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{database.name}.fresh: ADD a validator" in done.stderr
    assert f"{database.name}.lax: REPLACE its validator" in done.stderr
    assert "+ sku: required" in done.stderr  # what the replacement adds: every document has a sku
    lax, fresh = options_of(database.lax), options_of(database.fresh)
    assert (lax["validationLevel"], lax["validationAction"]) == ("strict", "error")
    assert lax["validator"]["$jsonSchema"]["required"] == ["_id", "sku"]
    assert (fresh["validationLevel"], fresh["validationAction"]) == ("moderate", "warn")


@pytest.mark.live
def test_a_query_operator_validator_is_not_replaced_by_a_generated_json_schema(mongo_uri, database, tmp_path):
    database.create_collection("stock", validator={"qty": {"$gte": 0}}, validationAction="error")
    database.stock.insert_many([{"qty": 1}, {"qty": 2}])
    done = apply_validators(mongo_uri, database, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "- qty: $gte 0 removed" in done.stderr
    assert options_of(database.stock)["validator"] == {"qty": {"$gte": 0}}


class Recorder(monitoring.CommandListener):
    def __init__(self, log: list) -> None:
        self.log = log

    def started(self, event):
        self.log.append(("started", event.command_name, dict(event.command)))

    def succeeded(self, event):
        self.log.append(("succeeded", event.command_name, None))

    def failed(self, event):
        self.log.append(("failed", event.command_name, None))


@pytest.mark.live
def test_the_apply_client_is_monitored_bounded_and_prints_each_result_as_it_completes(mongo_uri, database, tmp_path):
    for name in ("a", "b"):
        database[name].insert_one({"x": 1})
    log: list = []
    recorder = Recorder(log)
    live.MONITORS.append(recorder)
    try:
        client = apply.connect(mongo_uri, 1234)
        assert client.options.pool_options.socket_timeout == pytest.approx((1234 + apply.GRACE_MS) / 1000)
        client.close()
        validators = {f"{database.name}.{n}": {"$jsonSchema": {"required": ["x"]}} for n in ("a", "b")}
        apply.apply_validators(mongo_uri, validators, tmp_path / "v", 4321, False, lambda: None,
                               lambda line: log.append(("echo", line, None)))
    finally:
        live.MONITORS.remove(recorder)
    collmods = [entry[2] for entry in log if entry[:2] == ("started", "collMod")]
    assert [c["collMod"] for c in collmods] == ["a", "b"] and all(c["maxTimeMS"] == 4321 for c in collmods)
    sequence = [(kind, name if kind != "echo" else name.split(":")[0]) for kind, name, _ in log
                if name == "collMod" or kind == "echo" and "collMod done" in name]
    assert sequence == [("started", "collMod"), ("succeeded", "collMod"), ("echo", f"{database.name}.a"),
                        ("started", "collMod"), ("succeeded", "collMod"), ("echo", f"{database.name}.b")]


@pytest.fixture(scope="module")
def fault_server():
    from nosql_advisor.demo.server import start_secantus

    with throwaway(start_secantus(test_commands=True)) as server:
        yield server


@pytest.mark.live
def test_a_failure_on_the_fourth_collmod_names_the_three_changed_collections_and_their_undo(fault_server, tmp_path):
    client = MongoClient(fault_server.uri)
    names = [f"c{n}" for n in range(1, 6)]
    for name in names:
        client.part[name].insert_one({"x": 1})
    client.admin.command({"configureFailPoint": "failCommand", "mode": {"skip": 3},
                          "data": {"failCommands": ["collMod"], "errorCode": 2, "errmsg": "injected"}})
    try:
        done = run_in_process("validators", fault_server.uri, "--db", "part", "--out", "v", "--apply", "--yes", "-q",
                              cwd=tmp_path)
    finally:
        client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})
    assert done.returncode == 2, done.stderr
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("error: ") and "collMod part.c4 failed" in error
    assert "already changed: part.c1, part.c2, part.c3;" in error and "not run: part.c5" in error
    for name in ("c1", "c2", "c3"):
        assert f"part.{name}: collMod done" in done.stderr  # each result as it completed
    assert [name for name in names if client.part[name].options().get("validator")] == ["c1", "c2", "c3"]
    undo = re.findall(r'part\.c\d: mongosh "\$URI" --file (\S+?)(?:;|$)', error)
    assert len(undo) == 3
    for script in undo:
        run_saved_restore(client, tmp_path / shlex.split(script)[0])
    assert not [name for name in names if client.part[name].options().get("validator")]
    client.close()


PASSWORD = "Zq9@xKv7/Wm3:Jt8#"  # every character a URI parser splits at


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """A server with --auth holding `authz` (two collections, a profiled workload) and two users:
    `reader` with only `read` on authz, `boss` with root. Provisioned before auth is on."""
    from nosql_advisor.demo.server import start_secantus

    storage = tmp_path_factory.mktemp("auth-storage")
    with start_secantus(storage=storage) as server:
        client = MongoClient(server.uri)
        client.authz.orders.insert_many([{"tenant_id": n % 3, "customer_id": n} for n in range(1200)])  # DM401 wants 1000+
        client.authz.notes.insert_many([{"text": "a"}, {"text": "b"}])
        client.authz.command("profile", 2)
        for _ in range(6):
            list(client.authz.orders.find({"tenant_id": 1, "customer_id": 4}))
        client.authz.command("profile", 0)
        client.authz.command("createUser", "reader", pwd=PASSWORD, roles=[{"role": "read", "db": "authz"}])
        client.admin.command("createUser", "boss", pwd="boss-pw", roles=["root"])
        client.close()
    with throwaway(start_secantus(storage=storage, auth=True)) as server:
        yield server
    import shutil

    shutil.rmtree(storage, ignore_errors=True)


def as_user(server, user: str, password: str, database: str) -> str:
    return f"mongodb://{user}:{quote_plus(password)}@127.0.0.1:{server.port}/{database}"


def assert_no_password(text: str) -> None:
    for form in (PASSWORD, quote_plus(PASSWORD), "xKv7", "Wm3", "Jt8"):
        assert form not in text


@pytest.mark.live
def test_not_authorised_to_collmod_is_exit_3_and_nothing_changes(auth_server, tmp_path):
    uri = as_user(auth_server, "reader", PASSWORD, "authz")
    done = run_in_process("validators", uri, "--db", "authz", "--out", "v", "--apply", "--yes", "-q", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "not authorised: collMod authz." in done.stderr and "nothing was changed" in done.stderr
    assert_no_password(done.stdout + done.stderr)
    with MongoClient(as_user(auth_server, "boss", "boss-pw", "admin")) as boss:
        assert not boss.authz.orders.options().get("validator")


@pytest.mark.live
def test_not_authorised_to_create_indexes_is_exit_3_and_no_index_is_built(auth_server, tmp_path):
    uri = as_user(auth_server, "reader", PASSWORD, "authz")
    done = run_in_process("queries", "--profile", uri, "--db", "authz", "--apply", "--yes", "-q", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    assert "ADD index" in done.stderr  # there was an index to build: the refusal is the server's
    assert "not authorised: createIndexes authz.orders" in done.stderr, done.stderr
    assert_no_password(done.stdout + done.stderr)
    with MongoClient(as_user(auth_server, "boss", "boss-pw", "admin")) as boss:
        assert [index["name"] for index in boss.authz.orders.list_indexes()] == ["_id_"]


# -- demo load ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_server():
    from nosql_advisor.demo.server import start_secantus

    with throwaway(start_secantus()) as server:
        yield server


@pytest.fixture
def own_server(demo_server):
    """The module's server with no database of an earlier test left on it."""
    with MongoClient(demo_server.uri) as client:
        for name in set(client.list_database_names()) - {"admin", "local", "config"}:
            client.drop_database(name)
    return demo_server


@pytest.mark.live
def test_demo_load_refuses_a_database_that_is_not_empty_without_yes_and_touches_nothing(own_server, tmp_path):
    client = MongoClient(own_server.uri)
    client.shop.notes.insert_one({"_id": 1, "keep": "me"})
    refused = run_in_process("demo", "load", own_server.uri, "--scale", "0.01", cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "database shop is not empty (1 collections: notes)" in lines[0]
    assert "--yes" in lines[0]
    assert client.shop.list_collection_names() == ["notes"]
    assert list(client.shop.notes.find()) == [{"_id": 1, "keep": "me"}]
    loaded = run_in_process("demo", "load", own_server.uri, "--scale", "0.01", "--yes", cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert "notes" not in client.shop.list_collection_names() and "orders" in client.shop.list_collection_names()
    client.close()


@pytest.mark.live
def test_demo_load_into_a_server_without_that_database_needs_no_confirmation(own_server, tmp_path):
    client = MongoClient(own_server.uri)
    client.other.keep.insert_one({"_id": 1})
    done = run_in_process("demo", "load", own_server.uri, "--scale", "0.01", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert client.shop.orders.estimated_document_count() > 0
    assert client.other.keep.find_one() == {"_id": 1}
    client.close()
