"""Property tests (hypothesis) of the file readers: random BSON-encodable documents written as a
dump and as Extended JSON (NDJSON and a pretty JSON array) read back as the same documents, and
random byte damage of such files never raises anything but the tool's own errors."""

from __future__ import annotations

import gzip
import tempfile
from datetime import datetime
from pathlib import Path

import bson
from bson import json_util
from bson.objectid import ObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nosql_advisor.errors import AdvisorError, Problem, ProblemList
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.sources import dump, export

CANONICAL = json_util.CANONICAL_JSON_OPTIONS
RELAXED = json_util.RELAXED_JSON_OPTIONS

keys = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), min_size=1, max_size=8).filter(
    lambda key: not key.startswith("$"))  # `$`-keys are Extended JSON's wrappers, not data
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 63), 2 ** 63 - 1), st.floats(allow_nan=False),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20), st.binary(max_size=20),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000)),
    st.binary(min_size=12, max_size=12).map(ObjectId),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=20)
documents = st.lists(st.dictionaries(keys, values, max_size=6), min_size=1, max_size=8)

quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read_back(path: Path, reader, decoder) -> tuple[list[dict], ProblemList]:
    problems = ProblemList()
    found = [decoder(record, path, problems) for record in reader(path, problems, lambda _: None)]
    return [document for document, _ in filter(None, found)], problems


def written(folder: Path, name: str, data: bytes) -> Path:
    path = folder / "shop" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@quick
@given(documents)
def test_documents_written_as_a_dump_read_back_the_same(docs):
    with tempfile.TemporaryDirectory() as folder:
        path = written(Path(folder), "c.bson", b"".join(bson.encode(d) for d in docs))
        back, problems = read_back(path, dump.read_bson_records, dump.decode_bson_record)
    assert problems == [] and back == docs


@quick
@given(documents, st.sampled_from([CANONICAL, RELAXED]))
def test_documents_written_as_ndjson_read_back_the_same(docs, options):
    text = b"".join(json_util.dumps(d, json_options=options).encode() + b"\n" for d in docs)
    with tempfile.TemporaryDirectory() as folder:
        path = written(Path(folder), "c.json", text)
        back, problems = read_back(path, export.read_export_records, export.decode_export_record)
    assert problems == [] and back == [bson.decode(bson.encode(d)) for d in docs]


@quick
@given(documents)
def test_documents_written_as_a_pretty_json_array_read_back_the_same(docs):
    text = json_util.dumps(docs, json_options=CANONICAL, indent=2).encode()
    with tempfile.TemporaryDirectory() as folder:
        path = written(Path(folder), "c.json", text)
        assert not export.is_ndjson(path)
        back, problems = read_back(path, export.read_export_records, export.decode_export_record)
    assert problems == [] and back == docs


@quick
@given(documents, st.sampled_from(["c.bson", "c.bson.gz", "c.json", "c.json.gz"]))
def test_a_whole_scan_infers_one_shape_of_every_document(docs, name):
    encode = bson.encode if ".bson" in name else (lambda d: json_util.dumps(d, json_options=CANONICAL).encode() + b"\n")
    data = b"".join(encode(d) for d in docs)
    with tempfile.TemporaryDirectory() as folder:
        written(Path(folder), name, gzip.compress(data) if name.endswith(".gz") else data)
        landscape = scan_sources([str(Path(folder) / "shop")], ScanOptions(workers=1))
    assert landscape.problems == []
    assert [(c.info.namespace, c.shape.sampled) for c in landscape.collections] == [("shop.c", len(docs))]


def damage(data: bytes, cuts: list[tuple[int, int, int]]) -> bytes:
    """Apply (kind, position, value) edits: 0 flips a byte, 1 cuts the file, 2 zeroes 4 bytes,
    3 inserts a byte; positions wrap around the data's length."""
    damaged = bytearray(data)
    for kind, position, value in cuts:
        if not damaged:
            break
        at = position % len(damaged)
        if kind == 0:
            damaged[at] ^= value or 1
        elif kind == 1:
            del damaged[at:]
        elif kind == 2:
            damaged[at:at + 4] = bytes(len(damaged[at:at + 4]))
        else:
            damaged.insert(at, value)
    return bytes(damaged)


edits = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2 ** 20), st.integers(0, 255)), min_size=1, max_size=6)
FORMS = ["c.bson", "c.bson.gz", "c.json", "c.json.gz", "array.json", "c.metadata.json"]


def file_bytes(docs: list[dict], form: str) -> bytes:
    if form == "c.metadata.json":
        return json_util.dumps({"indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}],
                                "options": {"validator": {"$jsonSchema": {"bsonType": "object"}}}}).encode()
    if form == "array.json":
        return json_util.dumps(docs, json_options=CANONICAL, indent=1).encode()
    if ".bson" in form:
        data = b"".join(bson.encode(d) for d in docs)
    else:
        data = b"".join(json_util.dumps(d, json_options=RELAXED).encode() + b"\n" for d in docs)
    return gzip.compress(data) if form.endswith(".gz") else data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, st.sampled_from(FORMS), edits, st.sampled_from([None, 3]))
def test_random_byte_damage_never_raises_anything_but_the_tools_own_errors(docs, form, cuts, sample):
    with tempfile.TemporaryDirectory() as folder:
        shop = Path(folder) / "shop"
        written(Path(folder), form, damage(file_bytes(docs, form), cuts))
        if form == "c.metadata.json":
            written(Path(folder), "c.bson", file_bytes(docs, "c.bson"))
        try:
            landscape = scan_sources([str(shop)], ScanOptions(workers=1, selection=_sample(sample)))
        except AdvisorError:
            return
    for problem in landscape.problems:  # each names the file it is about, or its namespace
        assert isinstance(problem, Problem) and (str(shop) in problem.where or problem.where.startswith("shop."))
        assert "internal error" not in problem.message


def _sample(size: int | None):
    from nosql_advisor.sources.base import Selection

    return Selection(sample_size=size)
