"""Unsafe writes (DM408) from the workload: upserts no unique index covers, updateMany/deleteMany
with an empty filter, w: 0; read from 4.4+ JSON log lines, text log lines, profiler documents
(an export and a live SecantusDB profile), each held against a clean twin."""

from __future__ import annotations

import json

import bson
import pytest
from bson import json_util
from pymongo import MongoClient

from nosql_advisor.rules import RuleConfig, run_rules
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.workload import read_workload

from helpers import run_in_process

# a real line of MongoDB 6.0.11's log (simagix/hatchet logs/sample-mongod.log.gz, Apache-2.0):
# an upsert by _id, which the _id index makes safe whatever else the source says
REAL_UPSERT_BY_ID = (
    '{"t":{"$date":"2023-09-23T16:25:13.420-04:00"},"s":"I",  "c":"WRITE",    "id":51803,   "ctx":"conn22",'
    '"msg":"Slow query","attr":{"type":"update","ns":"testdb.dealers","appName":"Keyhole Lib","command":{"q":'
    '{"_id":"DEALER-1"},"u":{"$set":{"name":"Atlanta Auto"}},"multi":false,"upsert":true},"planSummary":"IDHACK",'
    '"keysExamined":1,"docsExamined":1,"nMatched":1,"nModified":0,"nUpserted":0,"numYields":0,"locks":{"Global":'
    '{"acquireCount":{"w":1}}},"flowControl":{"acquireCount":1},"storage":{"data":{"bytesRead":630,'
    '"timeReadingMicros":21}},"remote":"100.64.208.33:62748","durationMillis":11}}')


def log_line(**attr) -> str:
    return json.dumps({"t": {"$date": "2024-01-01T00:00:00Z"}, "s": "I", "c": "WRITE", "id": 51803,
                       "msg": "Slow query", "attr": {**attr, "durationMillis": 3}})


def update(q: dict, upsert: bool = False, multi: bool = False) -> str:
    return log_line(type="update", ns="app.orders", command={"q": q, "u": {"$set": {"seen": True}},
                                                             "multi": multi, "upsert": upsert})


def delete(q: dict, limit: int) -> str:
    return log_line(type="remove", ns="app.orders", command={"q": q, "limit": limit})


def command(name: str, w, **fields) -> str:
    return log_line(type="command", ns="app.$cmd",
                    command={name: "orders", "ordered": True, **fields, "writeConcern": {"w": w}, "$db": "app"})


def dump(tmp_path, indexes: list[dict]):
    folder = tmp_path / "dump" / "app"
    folder.mkdir(parents=True)
    (folder / "orders.bson").write_bytes(b"".join(bson.encode({"_id": i, "sku": f"S{i}", "status": "new"})
                                                  for i in range(20)))
    (folder / "orders.metadata.json").write_text(json_util.dumps(
        {"indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}] + indexes, "options": {}}))
    return scan_sources([str(tmp_path / "dump")], ScanOptions())


def unsafe(landscape, lines: list[str], tmp_path) -> list:
    path = tmp_path / "mongod.log"
    path.write_text("\n".join(lines) + "\n")
    landscape.workload = read_workload(logs=[path])
    return [f for f in run_rules(landscape, RuleConfig()) if f.rule == "DM408"]


def kinds(findings) -> list[tuple]:
    return sorted((f.evidence["kind"], f.namespace, f.path, f.severity) for f in findings)


def test_an_upsert_no_unique_index_covers_is_flagged_with_the_index_that_would(tmp_path):
    landscape = dump(tmp_path, [{"key": {"sku": 1}, "name": "sku_1"}])  # an index, not unique
    lines = [update({"sku": f"S{i}"}, upsert=True) for i in range(4)] + [REAL_UPSERT_BY_ID]
    [finding] = unsafe(landscape, lines, tmp_path)
    assert (finding.evidence["kind"], finding.namespace, finding.path, finding.severity) == \
        ("upsert_without_unique_index", "app.orders", "sku", "high")
    assert finding.evidence["upserts"] == 4 and finding.evidence["unique_index_checked"] is True
    assert finding.evidence["would_serve"] == {"key": [["sku", 1]], "unique": True}
    assert "S1" not in finding.message + str(finding.evidence)  # shapes, never values


def test_an_upsert_a_unique_index_covers_is_clean(tmp_path):
    landscape = dump(tmp_path, [{"key": {"sku": 1}, "name": "sku_1", "unique": True}])
    lines = [update({"sku": "S1", "status": "new"}, upsert=True), update({"sku": "S2"}, upsert=True)]
    assert unsafe(landscape, lines, tmp_path) == []


def test_without_an_index_list_the_unique_part_is_said_not_checked(tmp_path):
    (tmp_path / "export" / "app").mkdir(parents=True)
    (tmp_path / "export" / "app" / "orders.json").write_text('{"_id": 1, "sku": "S1"}\n')
    landscape = scan_sources([str(tmp_path / "export")], ScanOptions())
    [finding] = unsafe(landscape, [update({"sku": "S1"}, upsert=True), REAL_UPSERT_BY_ID], tmp_path)
    assert (finding.severity, finding.evidence["unique_index_checked"]) == ("info", False)
    assert "not checked" in finding.message


def test_a_refused_index_list_is_not_read_as_no_unique_index(tmp_path):
    from nosql_advisor.sources.live import INDEX_RULES

    landscape = dump(tmp_path, [{"key": {"sku": 1}, "name": "sku_1", "unique": True}])
    [collection] = landscape.collections
    collection.info.indexes = []  # what a live scan holds when listIndexes was refused...
    collection.info.not_checked.update(dict.fromkeys(INDEX_RULES, "not authorised for listIndexes"))  # ...and says
    [finding] = unsafe(landscape, [update({"sku": "S1"}, upsert=True)], tmp_path)
    assert (finding.severity, finding.evidence["unique_index_checked"]) == ("info", False)


def test_update_many_and_delete_many_with_an_empty_filter_are_flagged(tmp_path):
    landscape = dump(tmp_path, [])
    lines = [update({}, multi=True), update({}, multi=True), delete({}, 0)]
    found = unsafe(landscape, lines, tmp_path)
    assert kinds(found) == [("empty_filter", "app.orders", None, "high")] * 2
    assert {f.evidence["op"]: f.evidence["multi"] for f in found} == {"update": 2, "delete": 1}


def test_filtered_or_single_document_writes_are_clean(tmp_path):
    landscape = dump(tmp_path, [])
    lines = [update({"status": "new"}, multi=True), delete({"status": "old"}, 0), update({}), delete({}, 1)]
    assert unsafe(landscape, lines, tmp_path) == []


def test_writes_sent_with_w_0_are_flagged_with_their_count(tmp_path):
    landscape = dump(tmp_path, [])
    lines = [command("update", 0), command("update", 0), command("insert", 0),  # statements on lines of their own
             command("delete", 0, deletes=[{"q": {"status": "x"}, "limit": 1}]),
             command("update", 1), command("insert", "majority")]
    [finding] = unsafe(landscape, lines, tmp_path)
    assert (finding.evidence["kind"], finding.severity, finding.evidence["writes"]) == ("unacknowledged", "medium", 4)
    assert finding.evidence["by_op"] == {"delete": 1, "insert": 1, "update": 2}


def test_the_text_log_and_an_exported_profile_carry_the_same_write_facts(tmp_path):
    landscape = dump(tmp_path, [])
    text = ('2019-06-18T12:03:59.018+0100 I WRITE    [conn7] update app.orders command: { q: { sku: "S1" }, '
            'u: { $set: { seen: true } }, multi: false, upsert: true } planSummary: COLLSCAN keysExamined:0 '
            'docsExamined:20 nMatched:0 nModified:0 upsert:1 numYields:0 locks:{} 2ms')
    assert kinds(unsafe(landscape, [text], tmp_path)) == [("upsert_without_unique_index", "app.orders", "sku", "high")]
    profile = tmp_path / "profile.json"
    profile.write_text(json_util.dumps({"op": "remove", "ns": "app.orders", "command": {"q": {}, "limit": 0},
                                        "millis": 4, "ndeleted": 20}) + "\n")
    landscape.workload = read_workload(profiles=[str(profile)])
    assert [(f.evidence["kind"], f.evidence["op"]) for f in run_rules(landscape) if f.rule == "DM408"] == \
        [("empty_filter", "delete")]


@pytest.mark.live
def test_a_live_profile_shows_an_unsafe_upsert_and_an_update_many_of_everything(mongo_uri, tmp_path):
    client = MongoClient(mongo_uri)
    name = "h7_writes"
    client.drop_database(name)
    orders = client[name].orders
    try:
        orders.insert_many([{"sku": f"S{i}", "status": "new"} for i in range(10)])
        orders.create_index("sku")  # not unique
        client[name].command("profile", 2)
        orders.update_one({"sku": "S11"}, {"$set": {"status": "new"}}, upsert=True)
        orders.update_many({}, {"$set": {"status": "seen"}})
        orders.update_many({"status": "seen"}, {"$set": {"checked": True}})  # filtered: clean
        client[name].command("profile", 0)
        done = run_in_process("scan", mongo_uri, "--db", name, "--profile", mongo_uri, "--out", "out", "-q", cwd=tmp_path)
        report = json.loads((tmp_path / "out" / "report.json").read_text())
    finally:
        client.drop_database(name)
        client.close()
    assert done.returncode in (0, 1), done.stderr
    found = sorted((f["evidence"]["kind"], f["namespace"], f["path"]) for f in report["findings"] if f["rule"] == "DM408")
    assert found == [("empty_filter", f"{name}.orders", None), ("upsert_without_unique_index", f"{name}.orders", "sku")]
