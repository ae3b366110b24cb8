"""Query-shape normalisation, the log readers, plan derivation, ESR recommendation and the index
rules, on small inputs written here (positive, negative and boundary cases)."""

from __future__ import annotations

import gzip
import json

import bson
from bson import json_util

from nosql_advisor.rules import RuleConfig, run_rules
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.workload import read_workload
from nosql_advisor.workload.indexes import derive_plan, esr_keys, predicate_of, recommend
from nosql_advisor.workload.logs import parse_shell_object
from nosql_advisor.workload.shapes import Operation, Workload, normalise


def test_values_become_kinds_and_structure_stays():
    assert normalise({"tenant_id": "t1", "total": {"$gt": 5, "$lte": 9}, "tags": {"$in": ["a", "b"]}}) == \
        {"tenant_id": "eq", "total": "range", "tags": "in"}
    assert normalise({"name": {"$regex": "^ann", "$options": "i"}, "sku": {"$regex": "^SKU"},
                      "note": {"$regex": "late"}}) == {"name": "regex_i", "sku": "regex_prefix", "note": "regex"}
    assert normalise({"$and": [{"a": 1}, {"b": {"$exists": True}}], "$comment": "x"}) == {"a": "eq", "b": "exists"}
    assert normalise({"$or": [{"b": 2}, {"a": 1}]}) == normalise({"$or": [{"a": 7}, {"b": 9}]}) == \
        {"$or": [{"a": "eq"}, {"b": "eq"}]}
    assert normalise({"_id": {"$oid": "5ca4bbc7a2dd94ee58162718"}}) == {"_id": "eq"}  # EJSON, not an operator
    assert normalise({"items": {"$elemMatch": {"sku": "x", "qty": {"$gt": 1}}}}) == {"items.qty": "range", "items.sku": "eq"}


def test_shell_syntax_of_the_text_log():
    text = 'command: find { find: "c", filter: { a: ObjectId(\'5c\'), d: new Date(1396966544000), ' \
           'r: /^ab/i, t: Timestamp 1396966544000|1, "$or": [ { x: 1 } ] }, sort: { b: -1.0 } } planSummary: COLLSCAN'
    value, end = parse_shell_object(text, text.index("{"))
    assert value["find"] == "c" and value["sort"] == {"b": -1.0}
    assert normalise(value["filter"]) == {"$or": [{"x": "eq"}], "a": "eq", "d": "eq", "r": "regex_i", "t": "eq"}
    assert text[end:].strip() == "planSummary: COLLSCAN"


def log_line(**attr) -> str:
    return json.dumps({"t": {"$date": "2024-01-01T00:00:00Z"}, "s": "I", "c": "COMMAND", "id": 51803,
                       "msg": "Slow query", "attr": attr})


def test_json_and_text_lines_group_into_one_shape_each_with_getmore_attributed(tmp_path):
    path = tmp_path / "mongod.log.gz"
    lines = [
        log_line(type="command", ns="shop.orders", command={"find": "orders", "filter": {"tenant_id": "t1"}},
                 planSummary="COLLSCAN", docsExamined=5000, keysExamined=0, nreturned=10, durationMillis=120),
        log_line(type="command", ns="shop.orders", command={"find": "orders", "filter": {"tenant_id": "t2"}},
                 planSummary="COLLSCAN", docsExamined=5000, nreturned=5, durationMillis=80),
        log_line(type="command", ns="shop.orders", command={"getMore": 1, "collection": "orders"},
                 originatingCommand={"find": "orders", "filter": {"tenant_id": "t9"}}, durationMillis=30),
        json.dumps({"t": {}, "id": 22943, "msg": "Connection accepted"}),
        '{"t": {"$date": "2024"}, "id":51803, "attr": {"ns": "shop.orders", "comm',  # cut short
        "2019-06-18T11:59:16.516+0100 I COMMAND  [conn1] command shop.orders appName: \"x\" command: find "
        "{ find: \"orders\", filter: { tenant_id: \"t3\" }, $db: \"shop\" } planSummary: COLLSCAN "
        "keysExamined:0 docsExamined:4000 nreturned:2 reslen:1 locks:{} protocol:op_msg 50ms",
    ]
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    workload = read_workload(logs=[path])
    [stats] = workload.shapes.values()
    assert (stats.count, stats.getmores, stats.total_ms, stats.docs_examined, stats.nreturned) == (4, 1, 280, 14000, 17)
    assert stats.plans == {"COLLSCAN": 3} and stats.p95_ms == 120
    assert [p.where for p in workload.problems] == [f"{path}:5"]
    assert workload.sources[0]["lines"] == 6 and workload.sources[0]["malformed"] == 1


def stats_of(filter_: dict, sort: dict | None = None, **extra):
    workload = Workload()
    workload.add(Operation("app.orders", "find", filter_, sort=sort, **extra))
    return next(iter(workload.shapes.values()))


INDEXES = [{"key": {"_id": 1}, "name": "_id_"}, {"key": {"tenant_id": 1}, "name": "tenant_id_1"},
           {"key": {"tenant_id": 1, "created_at": -1}, "name": "tenant_id_1_created_at_-1"},
           {"key": {"name": 1}, "name": "name_ci", "collation": {"locale": "en", "strength": 2}}]


def test_plans_derived_from_the_index_list():
    served = derive_plan(stats_of({"tenant_id": "t"}, {"created_at": 1}), INDEXES)  # reversed direction: fine
    assert (served.index, served.in_memory_sort, served.unbounded_equality) == ("tenant_id_1_created_at_-1", False, [])
    partial = derive_plan(stats_of({"tenant_id": "t", "customer_id": 3}), INDEXES)
    assert partial.index in ("tenant_id_1", "tenant_id_1_created_at_-1") and partial.unbounded_equality == ["customer_id"]
    assert derive_plan(stats_of({"status": "paid"}), INDEXES).collscan
    assert derive_plan(stats_of({"tenant_id": "t"}, {"total": -1}), INDEXES).in_memory_sort
    assert derive_plan(stats_of({"name": "Ann"}), INDEXES).collscan  # the collation index is not this query's
    assert derive_plan(stats_of({"name": "Ann"}, collation={"locale": "en", "strength": 2}), INDEXES).index == "name_ci"


def test_esr_order_merge_and_extension():
    predicate = predicate_of(stats_of({"total": {"$gt": 5}, "status": "paid", "tenant_id": "t"}, {"created_at": -1}))
    assert esr_keys(predicate, ("tenant_id",)) == [("tenant_id", 1), ("status", 1), ("created_at", -1), ("total", 1)]
    short = stats_of({"tenant_id": "t", "status": "paid"})
    long = stats_of({"tenant_id": "t", "status": "paid", "total": {"$gt": 1}})
    [merged] = recommend("app.orders", [short, long], INDEXES, ("tenant_id",))
    assert merged.keys == [("tenant_id", 1), ("status", 1), ("total", 1)]
    assert {s.id for s in merged.serves} == {short.id, long.id}
    assert merged.replaces == "tenant_id_1"


def dump(tmp_path, indexes: list[dict], documents: int = 1200):
    folder = tmp_path / "dump" / "app"
    folder.mkdir(parents=True)
    rows = [{"_id": i, "tenant_id": f"t{i % 3}", "status": "s", "total": i} for i in range(documents)]
    (folder / "orders.bson").write_bytes(b"".join(bson.encode(d) for d in rows))
    (folder / "orders.metadata.json").write_text(json_util.dumps({"indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}] + indexes, "options": {}}))
    return scan_sources([str(tmp_path / "dump")], ScanOptions())


def findings(landscape, *rules):
    return [(f.rule, f.path, f.evidence.get("index")) for f in run_rules(landscape, RuleConfig()) if f.rule in rules]


def test_redundant_and_too_many_indexes(tmp_path):
    indexes = [{"key": {"tenant_id": 1}, "name": "a"}, {"key": {"tenant_id": 1, "total": 1}, "name": "b"},
               {"key": {"status": 1}, "name": "c", "unique": True}, {"key": {"status": 1, "total": 1}, "name": "d"},
               {"key": {"total": 1}, "name": "e", "partialFilterExpression": {"total": {"$gt": 5}}},
               {"key": {"total": 1, "status": 1}, "name": "f"}, {"key": {"tenant_id": -1, "status": 1}, "name": "g"}]
    landscape = dump(tmp_path, indexes)
    assert findings(landscape, "DM404") == [("DM404", None, "a")]  # unique, partial, other direction: kept
    assert findings(landscape, "DM405") == []
    many = dump(tmp_path / "many", [{"key": {f"f{i}": 1}, "name": f"f{i}"} for i in range(31)])
    assert [f[0] for f in findings(many, "DM405")] == ["DM405"]


def test_workload_rules_on_a_dump_with_a_log(tmp_path):
    landscape = dump(tmp_path, [{"key": {"tenant_id": 1, "status": 1}, "name": "tenant_id_1_status_1"}])
    workload = Workload()
    for _ in range(3):
        workload.add(Operation("app.orders", "find", {"total": {"$gt": 3}}, duration_ms=40))  # no index, no tenant
        workload.add(Operation("app.orders", "find", {"tenant_id": "t1", "status": "s"}, {"total": -1}))
        workload.add(Operation("app.orders", "find", {"tenant_id": "t1", "status": {"$regex": "^S", "$options": "i"}}))
    landscape.workload = workload
    assert findings(landscape, "DM401") == [("DM401", None, [["total", 1]])]
    assert [f[:2] for f in findings(landscape, "DM402")] == [("DM402", "total")]  # nothing after tenant_id, status
    landscape.workload = Workload()
    landscape.workload.add(Operation("app.orders", "find", {"tenant_id": "t1", "status": "s"}, {"tenant_id": 1}))
    assert findings(landscape, "DM402") == []  # a sort on an equality field is no sort
    landscape.workload = workload
    assert sorted(f[:2] for f in findings(landscape, "DM304", "DM407")) == [("DM304", "tenant_id"), ("DM407", "status")]
    small = dump(tmp_path / "small", [], documents=50)
    small.workload = workload
    assert findings(small, "DM401") == []  # 50 documents: a scan costs nothing (min_documents)


def test_byte_ranges_in_workers_give_what_one_process_gives(tmp_path, monkeypatch):
    from nosql_advisor.workload import logs

    path = tmp_path / "big.log"
    lines = []
    for n in range(3000):
        if n % 7 == 0:
            lines.append(log_line(type="command", ns=f"app.c{n % 3}", command={"find": f"c{n % 3}", "filter": {"a": n, "b": {"$gt": n}} if n % 2 else {"a": n}},
                                  planSummary="COLLSCAN", docsExamined=n, nreturned=1, durationMillis=n % 1500))
        elif n % 501 == 0:
            lines.append('{"id":51803, "attr": ')  # malformed, at a known line
        else:
            lines.append(json.dumps({"id": 22943, "msg": "Connection accepted", "attr": {"n": n}}))
    path.write_text("\n".join(lines) + "\n")
    one = read_workload(logs=[path])
    monkeypatch.setattr(logs, "PARALLEL_MIN_BYTES", 0)
    three = read_workload(logs=[path], workers=3)
    assert three.sources == one.sources and one.sources[0]["lines"] == 3000
    assert [p.where for p in three.problems] == [p.where for p in one.problems] == [f"{path}:{n + 1}" for n in range(3000) if n % 7 and n % 501 == 0]
    assert {k: s.to_dict() for k, s in three.shapes.items()} == {k: s.to_dict() for k, s in one.shapes.items()}


def test_scan_and_queries_from_the_command_line(tmp_path):
    import jsonschema

    from helpers import SCHEMA, run_in_process
    dump(tmp_path, [{"key": {"tenant_id": 1}, "name": "tenant_id_1"}])
    log = tmp_path / "mongod.log"
    log.write_text("\n".join(
        log_line(type="command", ns="app.orders", command={"find": "orders", "filter": {"tenant_id": f"t{n % 3}", "status": "s"},
                                                            "sort": {"total": -1}},
                 planSummary="IXSCAN { tenant_id: 1 }", docsExamined=4000, nreturned=2, hasSortStage=True,
                 durationMillis=100 + n) for n in range(5)) + "\n")

    def run(*args):
        return run_in_process(*args, cwd=tmp_path, timeout=120)

    done = run("scan", str(tmp_path / "dump"), "--log", str(log), "--out", "out", "-q")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    [advice] = report["index_advice"]
    assert advice["keys"] == [["tenant_id", 1], ["status", 1], ["total", -1]] and advice["replaces"] == "tenant_id_1"
    assert advice["impact"]["operations"] == 5 and advice["impact"]["docs_examined"] == 20000
    rules = sorted({f["rule"] for f in report["findings"] if f["rule"].startswith("DM4")})
    assert rules == ["DM401", "DM402"]
    shapes = json.loads(run("queries", "--log", str(log), "--json").stdout)
    assert shapes["shapes"][0]["count"] == 5 and shapes["shapes"][0]["id"] in advice["serves"]
    script = tmp_path / "indexes.js"
    assert run("queries", "--log", str(log), "--script", str(script), "-q").returncode == 0
    assert 'createIndexes: "orders"' in script.read_text() and '"total": -1' in script.read_text()
    missing = run("queries", "--log", str(tmp_path / "nope.log"))
    assert missing.returncode == 2 and "nope.log" in missing.stderr
    assert run("queries", "--log", str(log), "--apply", "--yes").returncode == 2  # --apply needs a live --profile


def test_unused_indexes_need_a_stated_period(tmp_path):
    import datetime

    landscape = dump(tmp_path, [{"key": {"status": 1}, "name": "status_1"}, {"key": {"total": 1}, "name": "total_1"},
                                {"key": {"tenant_id": 1}, "name": "tenant_id_1", "unique": True},
                                {"key": {"total": -1}, "name": "fresh"}, {"key": {"status": -1}, "name": "busy"}])
    old = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(days=30)
    recent = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=2)
    landscape.workload = Workload()
    landscape.workload.index_stats["app.orders"] = [
        {"name": "_id_", "accesses": {"ops": 0, "since": old}}, {"name": "status_1", "accesses": {"ops": 0, "since": old}},
        {"name": "total_1", "accesses": {"ops": 0, "since": None}},  # SecantusDB: no period, nothing said
        {"name": "tenant_id_1", "accesses": {"ops": 0, "since": old}}, {"name": "fresh", "accesses": {"ops": 0, "since": recent}},
        {"name": "busy", "accesses": {"ops": 12, "since": old}}]
    assert [f[2] for f in findings(landscape, "DM403")] == ["status_1"]  # not _id_, unique, recent or used ones
