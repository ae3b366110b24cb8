"""File sources: mongodump directories and mongoexport files, as a user lays them out."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import bson
from bson import Int64, ObjectId, json_util

from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.sources.base import Selection

CANONICAL = json_util.CANONICAL_JSON_OPTIONS
# How an export's Extended JSON must read: dates as naive UTC datetimes, the ones out of Python's
# range as DatetimeMS. Spelled here rather than taken from the module under test.
EXPORT_JSON = json_util.JSONOptions(datetime_conversion=json_util.DatetimeConversion.DATETIME_AUTO, tz_aware=False)


def write_bson(path: Path, documents: list[dict], gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(bson.encode(d) for d in documents)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_lines(path: Path, lines: list[str], gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def scan(*paths, **selection) -> dict:
    landscape = scan_sources([str(p) for p in paths], ScanOptions(selection=Selection(**selection)))
    return {c.info.namespace: c for c in landscape.collections}


def test_a_mongodump_directory_with_gzip_and_metadata(tmp_path):
    write_bson(tmp_path / "dump" / "shop" / "orders.bson.gz", [{"_id": i, "n": i} for i in range(5)], gz=True)
    write_bson(tmp_path / "dump" / "shop" / "users.bson", [{"_id": 1, "email": "a@b"}])
    metadata = {"indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"},
                            {"v": 2, "key": {"email": 1}, "name": "email_1", "unique": True}],
                "options": {"validator": {"$jsonSchema": {"required": ["email"]}}}}
    (tmp_path / "dump" / "shop" / "users.metadata.json").write_text(json_util.dumps(metadata))
    write_bson(tmp_path / "dump" / "crm" / "leads.bson", [{"_id": 1}])
    write_bson(tmp_path / "dump" / "oplog.bson", [{"ts": 1}])  # mongodump --oplog: not a collection
    found = scan(tmp_path / "dump")
    assert sorted(found) == ["crm.leads", "shop.orders", "shop.users"]
    assert found["shop.orders"].shape.sampled == 5
    users = found["shop.users"].info
    assert [i["name"] for i in users.indexes] == ["_id_", "email_1"]
    assert users.options["validator"] == {"$jsonSchema": {"required": ["email"]}}


def test_one_database_folder_and_globs(tmp_path):
    for name in ("orders", "order_items", "users", "system.profile"):
        write_bson(tmp_path / "shop" / f"{name}.bson", [{"_id": 1}])
    assert sorted(scan(tmp_path / "shop")) == ["shop.order_items", "shop.orders", "shop.users"]
    assert sorted(scan(tmp_path / "shop", collections=("order*",))) == ["shop.order_items", "shop.orders"]
    assert scan(tmp_path / "shop", databases=("other",)) == {}


def test_ndjson_canonical_and_relaxed_extended_json(tmp_path):
    lines = [
        json_util.dumps({"_id": ObjectId(), "n": Int64(5), "when": bson.datetime.datetime(2020, 1, 1)}, json_options=CANONICAL),
        '{ "_id" : { "$oid" : "5a9427648b0beebeb69579e7" }, "n": 7, "when": {"$date": "2009-04-01T00:00:00.000-0700"}}',
    ]
    shape = scan(write_lines(tmp_path / "shop" / "events.json", lines))["shop.events"].shape
    types = {f.path: f.types for f in shape.fields}
    assert types == {"_id": {"objectId": 2}, "n": {"int": 1, "long": 1}, "when": {"date": 2}}
    when = next(f for f in shape.fields if f.path == "when")
    assert when.date_range["min"] == "2009-04-01T07:00:00Z"  # the -0700 offset, in UTC


def test_json_array_and_pretty_multiline_documents(tmp_path):
    documents = [{"_id": i, "tags": ["a"] * i} for i in range(4)]
    array = tmp_path / "shop" / "a.json"
    array.parent.mkdir()
    array.write_text(json.dumps(documents, indent=2))
    pretty = tmp_path / "shop" / "b.json.gz"
    pretty.write_bytes(gzip.compress("\n".join(json.dumps(d, indent=4) for d in documents).encode()))
    found = scan(array, pretty)
    assert found["shop.a"].shape.sampled == found["shop.b"].shape.sampled == 4


def test_file_sample_is_seeded_uniform_and_counts_the_file(tmp_path):
    path = write_lines(tmp_path / "shop" / "big.json", [json.dumps({"_id": i}) for i in range(10_000)])
    sampled = scan(path, sample_size=500, seed=1)["shop.big"].shape
    again = scan(path, sample_size=500, seed=1)["shop.big"].shape
    other = scan(path, sample_size=500, seed=2)["shop.big"].shape
    assert sampled.sampled == 500 and sampled.documents_estimated == 10_000
    ids = next(f for f in sampled.fields if f.path == "_id")
    assert ids.number_range == next(f for f in again.fields if f.path == "_id").number_range
    assert ids.number_range != next(f for f in other.fields if f.path == "_id").number_range
    assert ids.number_range["min"] < 200 and ids.number_range["max"] > 9800  # spread over the file


def test_several_sources_are_one_landscape(tmp_path):
    dump = write_bson(tmp_path / "dump" / "shop" / "orders.bson", [{"_id": 1}])
    export = write_lines(tmp_path / "export" / "shop" / "customers.json", ['{"_id": 1}'])
    landscape = scan_sources([str(dump.parent.parent), str(export)], ScanOptions())
    assert [c.info.namespace for c in landscape.collections] == ["shop.customers", "shop.orders"]
    assert [s["kind"] for s in landscape.sources] == ["dump", "export"]


# Lines libbson's parser treats differently from bson.json_util: the fast path must either give
# json_util's document (and the BSON size bson.encode gives) or step aside for json_util.
TRICKY_LINES = [
    b'{"a":1},', b'{"a":1}{"b":2}', b'{"a":1} {"b": 2}', b'{"a":1}x', b'{"a":1}, "_": 2', b'[1,2]', b'"str"',
    b'[{"a":1}]', b'{"$oid": "5f0c0c0c0c0c0c0c0c0c0c0c"}', b'{"a": NaN}', b'{"a": Infinity}', b'{"a": 1e400}',
    b'\xef\xbb\xbf{"a":1}', b'{"a": 123456789012345678901234567890}', b'{"a": {"$date": "bogus"}}',
    b'{"a":"\\ud800"}', b'{"a":"\xff"}', b'{"a\\u0000b": 1}', b'{"a":', b'{"a": true, }',
    b'{"a": {"$date": {"$numberLong": "99999999999999999"}}}', b'{"a": {"$date": "2015-08-13T10:00:00-0700"}}',
    b'{"a": {"$uuid": "00112233-4455-6677-8899-aabbccddeeff"}}', b'{"a": {"$numberDecimal": "1.5"}, "b": -0.0}',
    b'{"$set": 1, "a": {"$foo": 1}}', b'  {"a": 2147483648}  \r\n',
    b'{"d": ' + b'{"d": ' * 150 + b'1' + b'}' * 150 + b'}',  # deeper than libbson's 100 levels
]


def test_fast_ndjson_lines_decode_exactly_as_json_util_or_step_aside():
    from nosql_advisor.sources.export import decode_export_record

    for line in TRICKY_LINES:
        problems: list = []
        got = decode_export_record((line, 1), Path("t.json"), problems)
        try:
            expected = json_util.loads(line, json_options=EXPORT_JSON)
            expected = (expected, len(bson.encode(expected))) if isinstance(expected, dict) else None
        except Exception:  # noqa: BLE001 - any refusal: the record must be skipped with a problem
            expected = None
        assert got == expected, line
        assert bool(problems) == (expected is None), line


def test_plain_lines_take_the_libbson_path():
    from nosql_advisor.sources.export import line_to_bson

    line = b'{"_id": {"$oid": "5f0c0c0c0c0c0c0c0c0c0c0c"}, "items": [{"a": 1}, {"b": [2, 3]}]}\n'
    assert bson.decode(line_to_bson(line)) == json_util.loads(line)
    assert line_to_bson(b'{"a":1}{"b":2}') is None and line_to_bson(b"[1]") is None
