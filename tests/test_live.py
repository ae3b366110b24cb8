"""Live sources over the wire, against a real server process (SecantusDB, or the mongod of
NOSQL_ADVISOR_TEST_URI): listing, counting, $sample, filters, metadata, read-only access."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import pytest
from pymongo import MongoClient

from helpers import run_in_process

run = run_in_process  # cli.main in this process: the answers are the point, not the process


def with_db(uri: str, database: str) -> str:
    """The URI naming a database in its path (what a user restricted to one database passes)."""
    base, _, query = uri.partition("?")
    return base.rstrip("/") + "/" + database + (f"?{query}" if query else "")


@pytest.fixture(scope="module")
def shop(mongo_uri):
    client = MongoClient(mongo_uri)
    name = f"live_{uuid.uuid4().hex[:8]}"
    database = client[name]
    database.orders.insert_many([{"n": i, "items": [{"sku": f"s{i}"}] * (i % 4)} for i in range(3000)])
    database.orders.create_index([("n", 1), ("items.sku", 1)], name="n_sku")
    database.create_collection("users", validator={"$jsonSchema": {"required": ["email"]}},
                               validationAction="warn")
    database.users.insert_many([{"email": f"u{i}@example.com"} for i in range(50)])
    database.command("profile", 2)
    database.orders.find_one({"n": 1})  # the profiler writes system.profile
    database.command("profile", 0)
    yield name
    client.drop_database(name)
    client.close()


def shapes(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr
    return {s["namespace"]: s for s in json.loads(done.stdout)}


@pytest.mark.live
def test_every_collection_is_listed_counted_and_sampled(mongo_uri, shop, tmp_path):
    found = shapes(run("shape", mongo_uri, "--db", shop, "--json", "-q", cwd=tmp_path))
    assert sorted(found) == [f"{shop}.orders", f"{shop}.users"]  # system.profile skipped
    orders = found[f"{shop}.orders"]
    assert orders["documents_estimated"] == 3000
    assert orders["sampled"] == 1000  # the default $sample size
    users = found[f"{shop}.users"]
    assert users["sampled"] == 50  # a smaller collection is read whole


@pytest.mark.live
def test_sample_size_and_collection_filter(mongo_uri, shop, tmp_path):
    found = shapes(run("shape", mongo_uri, "--db", shop, "-c", "ord*", "-n", "200", "--json", "-q", cwd=tmp_path))
    assert list(found) == [f"{shop}.orders"]
    assert found[f"{shop}.orders"]["sampled"] == 200
    whole = shapes(run("shape", mongo_uri, "--db", shop, "-c", "orders", "-n", "5000", "--json", "-q", cwd=tmp_path))
    assert whole[f"{shop}.orders"]["sampled"] == 3000


@pytest.mark.live
def test_report_holds_indexes_and_the_declared_validator(mongo_uri, shop, tmp_path):
    done = run("scan", mongo_uri, "--db", shop, "--out", "out", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    collections = {c["namespace"]: c for c in report["collections"]}
    orders = collections[f"{shop}.orders"]
    assert {i["name"] for i in orders["indexes"]} == {"_id_", "n_sku"}
    declared = collections[f"{shop}.users"]["validator"]["declared"]
    assert declared["$jsonSchema"] == {"required": ["email"]} and declared["validationAction"] == "warn"
    assert report["sources"][0]["kind"] == "live"
    schema_rules = {f["rule"] for f in report["findings"] if f["namespace"] == f"{shop}.users" and f["rule"].startswith("DM50")}
    assert schema_rules == {"DM502"}
    sizes = MongoClient(mongo_uri)[shop].orders.aggregate([{"$collStats": {"storageStats": {}}}]).next()["storageStats"]
    if sizes.get("totalIndexSize"):  # a mongod measures sizes: the report carries them
        assert orders["storage"]["index_sizes"].keys() == {"_id_", "n_sku"}
        assert orders["scale_risk"]["indexes"]["total_bytes"] == sizes["totalIndexSize"] > 0
    else:  # SecantusDB answers 0 bytes: unknown, never a 0 in the report
        assert "storage" not in orders and orders["scale_risk"]["indexes"]["total_bytes"] is None


def test_index_sizes_are_read_from_storage_stats():
    """A $collStats reply as plain data (no server, so not `live`)."""
    from nosql_advisor.sources.live import storage_sizes

    stats = {"size": 5000, "storageSize": 8192, "totalIndexSize": 40960, "indexSizes": {"n_1": 20480, "_id_": 20480}}
    assert storage_sizes(stats) == {"size": 5000, "storage_size": 8192, "total_index_size": 40960,
                                    "index_sizes": {"_id_": 20480, "n_1": 20480}}
    assert storage_sizes({"totalIndexSize": 0, "indexSizes": {"_id_": 0}}) is None
    assert storage_sizes(None) is None


@pytest.mark.live
def test_unknown_database_is_exit_2_in_one_line(mongo_uri, tmp_path):
    done = run("shape", mongo_uri, "--db", "no_such_db_here", cwd=tmp_path)
    assert done.returncode == 2
    assert "no database matches no_such_db_here" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.live
@pytest.mark.skipif(bool(os.environ.get("NOSQL_ADVISOR_TEST_URI")),
                    reason="starts its own SecantusDB with --auth; runs only without NOSQL_ADVISOR_TEST_URI")
def test_a_read_only_user_can_scan_and_bad_credentials_exit_3(tmp_path):
    from nosql_advisor.demo.server import start_secantus

    storage = tmp_path / "server"
    with start_secantus(storage=storage) as server:
        with MongoClient(server.uri) as client:
            client.admin.command("createUser", "root", pwd="rootpw", roles=[{"role": "root", "db": "admin"}])
            client.app.command("createUser", "reader", pwd="readPw-9", roles=[{"role": "read", "db": "app"}])
            client.app.things.insert_many([{"a": i} for i in range(20)])
    server = start_secantus(storage=storage, auth=True)
    try:
        reader = with_db(server.uri.replace("mongodb://", "mongodb://reader:readPw-9@"), "app") + "?authSource=app"
        found = shapes(run("shape", reader, "--json", "-q", cwd=tmp_path))
        assert found["app.things"]["sampled"] == 20  # only read commands were needed
        # no database in the URI path: the one --db names is read, listed or not
        by_db = server.uri.replace("mongodb://", "mongodb://reader:readPw-9@").rstrip("/") + "/?authSource=app"
        found = shapes(run("shape", by_db, "--db", "app", "--json", "-q", cwd=tmp_path))
        assert found["app.things"]["sampled"] == 20
        wrong = reader.replace("readPw-9", "WrongPw-7")
        done = run("shape", wrong, cwd=tmp_path)
    finally:
        server.process.kill()  # nothing more to keep: no clean shutdown to wait for
        server.stop()
    assert done.returncode == 3
    assert "WrongPw-7" not in done.stderr + done.stdout
    assert "reader:***@" in done.stderr


@pytest.mark.live
@pytest.mark.parametrize("driver", ["pymongo", "motor"])
def test_a_library_caller_can_pass_its_own_async_client(mongo_uri, shop, driver):
    import asyncio

    from nosql_advisor.scan import ScanOptions, scan_client
    from nosql_advisor.sources.base import Selection

    async def scan():
        if driver == "motor":
            from motor.motor_asyncio import AsyncIOMotorClient

            client = AsyncIOMotorClient(mongo_uri)
        else:
            from pymongo import AsyncMongoClient

            client = AsyncMongoClient(mongo_uri)
        try:
            options = ScanOptions(selection=Selection(databases=(shop,), sample_size=100))
            return await scan_client(client, options, location="app client")
        finally:
            result = client.close()
            if asyncio.iscoroutine(result):
                await result

    landscape = asyncio.run(scan())
    assert landscape.problems == []
    assert [c.info.namespace for c in landscape.collections] == [f"{shop}.orders", f"{shop}.users"]
    assert [c.shape.sampled for c in landscape.collections] == [100, 50]
    assert landscape.sources == [{"location": "app client", "kind": "live", "collections": 2, "documents_read": 150}]
