"""Several reader processes give exactly the shape, validation and problems of one."""

from __future__ import annotations

import datetime
import json
import random

import bson
import pytest
from bson import Decimal128, ObjectId, json_util

from nosql_advisor import parallel
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.schema.load import DeclaredSchema
from nosql_advisor.sources import files

MIN_BYTES = 256 << 10


@pytest.fixture(autouse=True)
def an_eighth_of_the_sizes(monkeypatch):
    """The parallel path at an eighth of its real sizes (files from 8 MiB -> 256 KiB, batches of
    1 MiB -> 32 KiB): the files below still deal out dozens of batches to each worker, in a
    second of the time."""
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", MIN_BYTES)
    monkeypatch.setattr(files, "BLOCK_BYTES", 32 << 10)


def orders(count: int) -> list[dict]:
    rng = random.Random(5)
    start = datetime.datetime(2024, 1, 1)
    return [{"_id": ObjectId.from_datetime(start + datetime.timedelta(minutes=i)),
             "status": rng.choice(["new", "paid", 3]),
             "email": f"user{rng.randint(1, 3000)}@example.com",
             "price": Decimal128(f"{rng.randint(1, 9999) / 100:.2f}"),
             "items": [{"sku": f"S{rng.randint(1, 50000)}", "qty": rng.randint(1, 4)} for _ in range(rng.randint(0, 6))],
             "note": "n" * rng.randint(0, 900)} for i in range(count)]


def test_large_files_read_in_several_processes_give_the_same_report(tmp_path):
    documents = orders(2_000)
    dump = tmp_path / "shop" / "orders.bson"
    dump.parent.mkdir()
    data = b"".join(bson.encode(d) for d in documents)
    dump.write_bytes(data + b"\x05\x00")  # a truncated tail: a problem both ways
    assert dump.stat().st_size >= 3 * MIN_BYTES
    schema = {"properties": {"status": {"bsonType": "string"}}}
    declared = {"shop.orders": DeclaredSchema("shop.orders", schema, "test")}
    one = scan_sources([str(dump)], ScanOptions(workers=1, schemas=declared))
    many = scan_sources([str(dump)], ScanOptions(workers=3, schemas=declared))
    assert parallel.in_parallel(dump, 3)
    assert json.dumps(one.collections[0].shape.to_dict()) == json.dumps(many.collections[0].shape.to_dict())
    assert one.collections[0].validation == many.collections[0].validation
    assert one.collections[0].validation.failed > 0
    assert [str(p) for p in one.problems] == [str(p) for p in many.problems] != []


def test_ndjson_in_several_processes_matches_one(tmp_path):
    export = tmp_path / "shop" / "orders.json"
    export.parent.mkdir()
    lines = [json_util.dumps(d, json_options=json_util.CANONICAL_JSON_OPTIONS) for d in orders(1_500)]
    lines.insert(100, '{"broken": ')
    export.write_text("\n".join(lines) + "\n")
    assert export.stat().st_size >= 3 * MIN_BYTES
    one = scan_sources([str(export)], ScanOptions(workers=1))
    many = scan_sources([str(export)], ScanOptions(workers=2))
    assert one.collections[0].shape.to_dict() == many.collections[0].shape.to_dict()
    assert [str(p) for p in many.problems] == [str(p) for p in one.problems]
    assert many.problems[0].where.endswith("orders.json:101")


def test_a_large_gzip_export_is_shipped_to_workers_and_a_broken_tail_is_reported_last(tmp_path):
    """A gzip stream cannot be read at an offset: its batches carry their bytes to the workers."""
    import gzip
    import os

    rng = random.Random(9)
    lines = [json.dumps({"_id": i, "blob": os.urandom(600).hex(), "n": rng.randint(1, 9)}) for i in range(2_000)]
    lines.insert(700, '{"_id": "half", ')
    data = gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1)
    export = tmp_path / "shop" / "blobs.json.gz"
    export.parent.mkdir()
    export.write_bytes(data[: len(data) - 1000])  # the stream ends early
    assert export.stat().st_size >= 3 * MIN_BYTES and parallel.in_parallel(export, 2)
    one = scan_sources([str(export)], ScanOptions(workers=1))
    many = scan_sources([str(export)], ScanOptions(workers=2))
    assert json.dumps(one.collections[0].shape.to_dict()) == json.dumps(many.collections[0].shape.to_dict())
    assert [str(p) for p in many.problems] == [str(p) for p in one.problems]
    assert many.problems[0].where.endswith("blobs.json.gz:701")
    assert "compressed stream ends early" in str(many.problems[-1])
    assert 1_900 < many.collections[0].shape.sampled < 2_000
