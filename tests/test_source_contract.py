"""One way in for every source: each yields its collections, each with its metadata and its
documents as raw-BSON batches, and the batches, decoded, are exactly the documents the source
holds (in order), with problems named where they were before (file@offset, file:line)."""

from __future__ import annotations

import asyncio
import gzip
import math
import uuid
from pathlib import Path

import bson
import pytest
from bson import Decimal128, Int64, ObjectId, json_util
from pymongo import MongoClient

from nosql_advisor.bsontypes import UNDEFINED, Symbol, bson_type_of
from nosql_advisor.errors import ProblemList
from nosql_advisor.sources import live
from nosql_advisor.sources.base import CODEC_OPTIONS, CollectionInfo, Selection, decode_batch
from nosql_advisor.sources.filesource import file_collections

DOCUMENTS = [{"_id": ObjectId(f"65000000000000000000{i:04x}"), "n": i, "big": Int64(i) << 40,
              "price": Decimal128(f"{i}.50"), "tags": ["a", {"b": i}], "when": bson.datetime.datetime(2024, 1, 1 + i % 28)}
             for i in range(50)]


def encoded(documents: list[dict]) -> list[bytes]:
    return [bson.encode(d) for d in documents]


def decoded(raws: list[bytes]) -> list[dict]:
    """What the documents are, read back by PyMongo from the BSON the test wrote."""
    return [bson.decode(r, CODEC_OPTIONS) for r in raws]


def read(source: Path, limit: int | None = None, seed: int = 0):
    """(collection, batches, documents decoded from them, problems) of the one collection there."""
    problems = ProblemList()
    (found,) = list(file_collections(source, Selection(seed=seed), limit, 1, problems))
    stops: list = []
    batches = list(found.batches(lambda _: None, stops))
    documents, batch_problems = [], []
    for batch in batches:
        some, bad = decode_batch(batch)
        documents.extend(some)
        batch_problems.extend(bad)
    return found, batches, documents, [*problems, *found.info.problems, *batch_problems, *stops]


# -- dumps -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True], ids=["bson", "bson.gz"])
def test_a_dump_yields_its_documents_as_raw_batches(tmp_path, gz):
    raws = encoded(DOCUMENTS)
    path = tmp_path / "shop" / ("orders.bson.gz" if gz else "orders.bson")
    path.parent.mkdir()
    data = b"".join(raws)
    path.write_bytes(gzip.compress(data) if gz else data)
    (tmp_path / "shop" / "orders.metadata.json").write_text(json_util.dumps(
        {"indexes": [{"v": 2, "key": {"n": 1}, "name": "n_1"}], "options": {}}))
    found, batches, documents, problems = read(path)
    assert found.info.namespace == "shop.orders" and found.info.kind == "dump"
    assert [index["name"] for index in found.info.indexes] == ["n_1"]  # metadata comes with the collection
    assert b"".join(batch.data for batch in batches) == data  # the file's own bytes, undecoded
    assert [document for document, _ in documents] == decoded(raws)
    assert [size for _, size in documents] == [len(r) for r in raws]
    assert found.info.method == "full" and found.info.estimated_count == len(raws) and problems == []


def test_a_damaged_dump_record_is_named_by_its_offset_and_the_rest_is_read(tmp_path):
    raws = encoded(DOCUMENTS[:5])
    damaged = bytearray(raws[2])
    damaged[4] = 0x55  # no BSON type 0x55: the document does not decode, its length is sound
    raws[2] = bytes(damaged)
    path = tmp_path / "shop" / "orders.bson"
    path.parent.mkdir()
    path.write_bytes(b"".join(raws))
    _, _, documents, problems = read(path)
    assert [d for d, _ in documents] == decoded(raws[:2] + raws[3:])
    offset = len(raws[0]) + len(raws[1])
    assert [(p.where, p.message.split(":")[0]) for p in problems] == [
        (f"{path}@{offset}", "invalid BSON document skipped")]


def test_a_dump_sample_draws_raw_records_of_the_file(tmp_path):
    raws = encoded(DOCUMENTS)
    path = tmp_path / "shop" / "orders.bson"
    path.parent.mkdir()
    path.write_bytes(b"".join(raws))
    found, batches, documents, problems = read(path, limit=10, seed=4)
    assert found.info.method == "file-sample" and found.info.estimated_count == len(raws)
    drawn = [batch.data[start:end] for batch in batches
             for start, end in zip(batch.starts, [*batch.starts[1:], len(batch.data)])]
    assert len(drawn) == 10 and len(set(drawn)) == 10 and set(drawn) <= set(raws)
    assert drawn == sorted(drawn, key=raws.index)  # in file order
    assert [d for d, _ in documents] == decoded(drawn)
    assert [p.message.split(":")[0] for p in problems] == ["50 records counted, 10 decoded"]


# -- exports ---------------------------------------------------------------------------------------

EXPORT_JSON = json_util.JSONOptions(datetime_conversion=json_util.DatetimeConversion.DATETIME_AUTO, tz_aware=False)


def export_lines() -> tuple[list[str], list[object]]:
    """Lines of every kind mongoexport writes (and older tools did), with what each one is: a
    document, or None for a line that is none (its problem names its line)."""
    documents = DOCUMENTS[:4]
    lines = [json_util.dumps(documents[0], json_options=json_util.CANONICAL_JSON_OPTIONS),
             json_util.dumps(documents[1], json_options=json_util.RELAXED_JSON_OPTIONS),
             '{"_id": 3, "s": {"$symbol": "sym"}, "u": {"$undefined": true}}',  # legacy: json_util reads it
             '{"_id": 4, "x": NaN}',  # not JSON to libbson: json_util reads it
             '{"_id": 5, "broken": ',
             json_util.dumps(documents[2], json_options=json_util.CANONICAL_JSON_OPTIONS),
             "",
             json_util.dumps(documents[3], json_options=json_util.RELAXED_JSON_OPTIONS)]
    expected = [documents[0], documents[1], {"_id": 3, "s": Symbol("sym"), "u": UNDEFINED},
                {"_id": 4, "x": float("nan")}, None, documents[2], documents[3]]
    return lines, expected


def same(got: dict, want: dict) -> bool:
    """Equal, NaN equal to NaN, and each value of the same BSON type."""
    if list(got) != list(want):
        return False
    for key in want:
        a, b = got[key], want[key]
        if bson_type_of(a) != bson_type_of(b):
            return False
        if isinstance(b, float) and math.isnan(b):
            if not math.isnan(a):
                return False
        elif a != b:
            return False
    return True


@pytest.mark.parametrize("layout", ["ndjson", "ndjson.gz", "array"])
def test_an_export_yields_raw_bson_lines_and_decoded_legacy_ones_in_their_place(tmp_path, layout):
    lines, expected = export_lines()
    path = tmp_path / "shop" / ("orders.json.gz" if layout == "ndjson.gz" else "orders.json")
    path.parent.mkdir()
    if layout == "array":
        text = "[\n" + ",\n".join(line for line in lines if line and "broken" not in line) + "\n]\n"
        expected = [e for e in expected if e is not None]
    else:
        text = "\n".join(lines) + "\n"
    path.write_bytes(gzip.compress(text.encode()) if layout == "ndjson.gz" else text.encode())
    found, batches, documents, problems = read(path)
    assert found.info.kind == "export" and found.info.method == "full"
    wanted = [e for e in expected if e is not None]
    assert len(documents) == len(wanted)
    assert all(same(got, want) for (got, _), want in zip(documents, wanted))
    assert sum(len(batch.starts) for batch in batches) == len(wanted) - 2  # libbson took all but two
    assert sum(len(batch.decoded) for batch in batches) == 2  # the legacy line and the NaN one
    assert [size for _, size in documents][:2] == [len(bson.encode(d)) for d in DOCUMENTS[:2]]
    if layout != "array":
        assert found.info.estimated_count == 7  # non-blank lines: the broken one too
        assert [(p.where, p.message.split(" (")[0]) for p in problems] == [
            (f"{path}:5", "invalid Extended JSON")]


def test_an_export_sample_draws_lines_and_keeps_their_numbers_in_problems(tmp_path):
    lines = [json_util.dumps({"_id": i}) for i in range(30)]
    lines[29] = '{"_id": 29, '  # a truncated last line: reported though the sample may not draw it
    path = tmp_path / "shop" / "orders.json"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    found, _, documents, problems = read(path, limit=5, seed=1)
    ids = [d["_id"] for d, _ in documents]
    assert len(ids) == 5 and ids == sorted(ids) and set(ids) <= set(range(29))
    assert found.info.method == "file-sample" and found.info.estimated_count == 29
    assert [p.where for p in problems][:1] == [f"{path}:30"]


# -- live ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def collection(mongo_uri):
    name = f"contract_{uuid.uuid4().hex[:8]}"
    client = MongoClient(mongo_uri)
    client[name].orders.insert_many([dict(d) for d in DOCUMENTS])
    yield name
    client.drop_database(name)
    client.close()


def live_batches(mongo_uri: str, database: str, size: int) -> tuple[CollectionInfo, list]:
    async def go():
        client = live.open_client(mongo_uri, live.LiveOptions())
        try:
            reader = live.Reader(client, mongo_uri, live.LiveOptions())
            (info,) = await live.list_collections(reader, Selection(databases=(database,)), [])
            batches: list = []
            await reader.sample_into(info, size, batches.append)
            return info, batches
        finally:
            await client.close()

    return asyncio.run(go())


@pytest.mark.live
def test_a_live_full_read_yields_every_document_raw(mongo_uri, collection):
    info, batches = live_batches(mongo_uri, collection, 1000)
    assert info.namespace == f"{collection}.orders" and info.estimated_count == len(DOCUMENTS)
    raws = [batch.data[start:end] for batch in batches
            for start, end in zip(batch.starts, [*batch.starts[1:], len(batch.data)])]
    assert sorted(raws) == sorted(encoded(DOCUMENTS))  # the server's bytes are the documents written
    assert all(not batch.decoded for batch in batches)


@pytest.mark.live
def test_a_live_sample_yields_distinct_documents_of_the_collection(mongo_uri, collection):
    info, batches = live_batches(mongo_uri, collection, 20)
    documents = [document for batch in batches for document, _ in decode_batch(batch)[0]]
    assert info.status == "complete" and len(documents) == 20
    assert len({d["_id"] for d in documents}) == 20
    assert all(d in DOCUMENTS for d in documents)
