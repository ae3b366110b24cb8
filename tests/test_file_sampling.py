"""--sample-size and --max-docs on files: a sample of at least the file's records is a full read,
a smaller one is a seeded reservoir whose intervals know the file's size, and the record count
that decides it is cheap and stops where the reading stops."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import bson
import pytest

from nosql_advisor.sources import filesource
from nosql_advisor.confidence import wilson_interval
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.sources.base import Selection
from nosql_advisor.sources.dump import count_bson_records
from nosql_advisor.sources.export import count_ndjson_records

DOCUMENTS = 1_000
# every third document has a coupon: 334 of 1,000 (i = 0, 3, ..., 999)
WITH_COUPON = len(range(0, DOCUMENTS, 3))


def order(i: int) -> dict:
    document = {"_id": i, "tenant_id": f"t{i % 7}", "total": i * 1.5}
    if i % 3 == 0:
        document["coupon"] = f"C{i}"
    return document


def write_dump(path: Path, documents: list[dict], gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(bson.encode(d) for d in documents)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_ndjson(path: Path, lines: list[str], gz: bool = False, end: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + end).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """The same 1,000 orders as a dump, a gzipped dump, NDJSON and gzipped NDJSON."""
    root = tmp_path_factory.mktemp("sampling")
    documents = [order(i) for i in range(DOCUMENTS)]
    lines = [json.dumps(d) for d in documents]
    return {
        "bson": write_dump(root / "shop" / "orders.bson", documents),
        "bson.gz": write_dump(root / "gz" / "orders.bson.gz", documents, gz=True),
        "ndjson": write_ndjson(root / "nd" / "orders.json", lines),
        "ndjson.gz": write_ndjson(root / "ndgz" / "orders.json.gz", lines, gz=True),
    }


def scan_one(path: Path, sample_size: int | None = None, max_docs: int | None = None, seed: int = 0):
    options = ScanOptions(selection=Selection(sample_size=sample_size, seed=seed), max_docs=max_docs)
    landscape = scan_sources([str(path)], options)
    (collection,) = landscape.collections
    return collection, landscape.problems


def coupon(shape):
    return next(f for f in shape.fields if f.path == "coupon")


@pytest.mark.parametrize("kind", ["bson", "bson.gz", "ndjson", "ndjson.gz"])
def test_the_record_count_is_the_number_of_documents_written(files, kind):
    count = count_bson_records(files[kind]) if kind.startswith("bson") else count_ndjson_records(files[kind])
    assert count == DOCUMENTS


def test_the_count_stops_once_past_what_the_decision_needs(files):
    """A sample of 10 from a large file needs only to know the file holds more than 10."""
    assert count_bson_records(files["bson"], at_most=11) == 11
    assert count_bson_records(files["bson.gz"], at_most=DOCUMENTS + 5) == DOCUMENTS
    assert 10 < count_ndjson_records(files["ndjson"], at_most=10) <= DOCUMENTS
    assert count_ndjson_records(files["ndjson"], at_most=DOCUMENTS) == DOCUMENTS


@pytest.mark.parametrize("kind", ["bson", "bson.gz", "ndjson", "ndjson.gz"])
@pytest.mark.parametrize("sample_size", [DOCUMENTS, 1_000_000])
def test_a_sample_of_at_least_the_files_records_is_a_full_read(files, kind, sample_size):
    collection, _ = scan_one(files[kind], sample_size=sample_size)
    shape = collection.shape
    assert shape.method == "full"
    assert shape.sampled == shape.documents_estimated == DOCUMENTS
    assert coupon(shape).count == WITH_COUPON
    assert all(field.probability_ci is None for field in shape.fields)  # every share is a count


def test_a_sample_of_at_least_the_file_does_not_go_through_the_reservoir(files, monkeypatch):
    """The reservoir holds every raw record it keeps: with N >= the file's records that is the
    whole file in memory, where the batched read holds a megabyte at a time."""

    def no_reservoir(*args, **kwargs):
        raise AssertionError("the reservoir was used for a sample as large as the file")

    monkeypatch.setattr(filesource, "reservoir", no_reservoir)
    for kind in ("bson", "ndjson.gz"):
        collection, _ = scan_one(files[kind], sample_size=DOCUMENTS + 1)
        assert collection.shape.sampled == DOCUMENTS


def test_a_full_read_by_sample_size_gives_the_shape_of_a_plain_read(files):
    plain, _ = scan_one(files["bson"])
    sampled, _ = scan_one(files["bson"], sample_size=5 * DOCUMENTS)
    assert sampled.shape.to_dict() == plain.shape.to_dict()


@pytest.mark.parametrize("kind", ["bson", "ndjson.gz"])
def test_a_smaller_sample_is_seeded_and_knows_the_files_size(files, kind):
    collection, _ = scan_one(files[kind], sample_size=400, seed=3)
    again, _ = scan_one(files[kind], sample_size=400, seed=3)
    shape = collection.shape
    assert shape.method == "file-sample"
    assert shape.sampled == 400 and shape.documents_estimated == DOCUMENTS
    seen = coupon(shape)
    assert seen.count == coupon(again.shape).count  # the same seed draws the same sample
    # 400 of 1,000 is a large share: the finite population correction narrows the interval
    unknown_size = wilson_interval(seen.count, 400)
    low, high = seen.probability_ci
    assert unknown_size[0] < low <= seen.probability <= high < unknown_size[1]
    assert low <= WITH_COUPON / DOCUMENTS <= high  # the file's true share, known from the input


def test_max_docs_samples_a_larger_file_and_reads_a_smaller_one_whole(files):
    capped, _ = scan_one(files["ndjson"], max_docs=250)
    assert capped.shape.method == "file-sample"
    assert (capped.shape.sampled, capped.shape.documents_estimated) == (250, DOCUMENTS)
    roomy, _ = scan_one(files["ndjson"], max_docs=DOCUMENTS)
    assert roomy.shape.method == "full" and roomy.shape.sampled == DOCUMENTS


def test_max_docs_and_sample_size_take_the_smaller(files):
    by_max_docs, _ = scan_one(files["bson"], sample_size=600, max_docs=200)
    by_sample, _ = scan_one(files["bson"], sample_size=150, max_docs=700)
    assert by_max_docs.shape.sampled == 200 and by_sample.shape.sampled == 150


def test_a_json_array_sampled_whole_is_called_a_full_read(tmp_path):
    """A JSON array is not counted first (finding its values is half the cost of reading it):
    the reservoir reads it, and one that kept every record says so."""
    path = tmp_path / "shop" / "orders.json"
    path.parent.mkdir()
    path.write_text(json.dumps([order(i) for i in range(300)], indent=2))
    whole, _ = scan_one(path, sample_size=300)
    part, _ = scan_one(path, sample_size=100)
    assert whole.shape.method == "full" and whole.shape.sampled == 300
    assert whole.shape.fields[0].probability_ci is None
    assert part.shape.method == "file-sample"
    assert (part.shape.sampled, part.shape.documents_estimated) == (100, 300)


def test_ndjson_counts_no_blank_line_and_a_last_line_without_newline(tmp_path):
    lines = ['{"a": 1}', "", "   ", '{"a": 2}', "\t\r", '{"a": 3}', "", '{"a": 4}']
    plain = write_ndjson(tmp_path / "d" / "a.json", lines, end="")  # the last line has no newline
    crlf = write_ndjson(tmp_path / "d" / "b.json", [line + "\r" for line in lines])
    assert count_ndjson_records(plain) == count_ndjson_records(crlf) == 4


def test_ndjson_count_over_chunk_boundaries(tmp_path):
    """Several megabytes, so lines and blank lines fall across the 1 MiB chunks the count reads."""
    lines = []
    for i in range(60_000):
        lines.append(json.dumps({"_id": i, "pad": "x" * (i % 97)}))
        if i % 11 == 0:
            lines.append(" " * (i % 5))  # a blank line of 0-4 spaces
    path = write_ndjson(tmp_path / "d" / "big.json", lines)
    assert path.stat().st_size > 3 << 20
    assert count_ndjson_records(path) == 60_000


def truncated_dump(tmp_path: Path, documents: int, cut: int) -> tuple[Path, int]:
    """A dump of `documents` orders with its last `cut` bytes cut off, and the whole ones left."""
    encoded = [bson.encode(order(i)) for i in range(documents)]
    data = b"".join(encoded)[:-cut]
    path = tmp_path / "shop" / "orders.bson"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    whole, total = 0, 0
    for raw in encoded:
        total += len(raw)
        whole += total <= len(data)
    return path, whole


def test_the_count_of_a_truncated_dump_stops_at_the_last_whole_document(tmp_path):
    path, whole = truncated_dump(tmp_path, 50, cut=10)
    assert whole == 49 and count_bson_records(path) == 49
    garbage = tmp_path / "g" / "bad.bson"
    write_dump(garbage, [order(i) for i in range(5)])
    garbage.write_bytes(garbage.read_bytes() + b"\xff\xff\xff\x7f" + b"\0" * 40)  # a length no document has
    assert count_bson_records(garbage) == 5


@pytest.mark.parametrize("sample_size", [10_000, 20])
def test_a_truncated_dump_sampled_is_reported_once_and_incomplete(tmp_path, sample_size):
    path, whole = truncated_dump(tmp_path, 50, cut=10)
    collection, problems = scan_one(path, sample_size=sample_size)
    stops = [p for p in problems if "file ends inside a document" in p.message]
    assert len(stops) == 1 and stops[0].where.startswith(f"{path}@")
    assert collection.info.status == "incomplete"
    assert collection.shape.documents_estimated == whole
    assert collection.shape.sampled == min(whole, sample_size)
    assert collection.shape.method == ("full" if sample_size >= whole else "file-sample")


def test_a_broken_gzip_stream_counts_what_the_reading_keeps(tmp_path):
    documents = [order(i) for i in range(3_000)]
    path = write_dump(tmp_path / "shop" / "orders.bson.gz", documents, gz=True)
    path.write_bytes(path.read_bytes()[:-2_000])  # the stream ends early
    read_whole, problems = scan_one(path)
    assert 0 < read_whole.shape.sampled < 3_000
    assert count_bson_records(path) == read_whole.shape.sampled
    sampled, sample_problems = scan_one(path, sample_size=1_000_000)
    assert sampled.shape.to_dict() == read_whole.shape.to_dict()
    assert [p.message for p in sample_problems] == [p.message for p in problems]
    assert sum("compressed stream ends early" in p.message for p in sample_problems) == 1


# -- damage a sample cannot decode: the last record is checked, the rest is said -----------------

def damaged_ndjson(path: Path) -> Path:
    """1,500 whole lines, then line 1,501 cut off inside its document."""
    lines = [json.dumps(order(i)) for i in range(1_500)] + ['{"_id": 1500, "total"']
    return write_ndjson(path, lines, end="")


def messages(collection) -> list[str]:
    return [f"{p.where}: {p.message}" for p in collection.info.problems]


def test_a_sample_reports_a_truncated_last_line_as_a_whole_read_does(tmp_path):
    path = damaged_ndjson(tmp_path / "shop" / "orders.json")
    whole, _ = scan_one(path)
    sampled, _ = scan_one(path, sample_size=100)
    truncation = [m for m in messages(whole) if ":1501:" in m]
    assert len(truncation) == 1
    assert truncation[0] in messages(sampled)  # same words, same place
    assert sampled.shape.documents_estimated == 1_500  # the broken line is not a document


def test_every_file_sample_says_the_records_it_did_not_draw_were_only_counted(files):
    for kind in ("bson", "ndjson"):
        collection, _ = scan_one(files[kind], sample_size=100)
        (note,) = [p for p in collection.info.problems if "counted, not decoded" in p.message]
        assert note.exit_code == 0
        assert f"{DOCUMENTS:,} records counted" in note.message
        assert "read the file whole to check every record" in note.message


def test_a_bad_length_inside_a_dump_is_reported_once_by_a_sample_and_not_counted(tmp_path):
    documents = [bson.encode(order(i)) for i in range(2_000)]
    data = bytearray(b"".join(documents))
    middle = sum(len(d) for d in documents[:1_000])
    data[middle:middle + 4] = (7).to_bytes(4, "little")
    path = tmp_path / "shop" / "orders.bson"
    path.parent.mkdir(parents=True)
    path.write_bytes(bytes(data))
    whole, _ = scan_one(path)
    sampled, _ = scan_one(path, sample_size=100)
    at_middle = f"@{middle}: invalid BSON document skipped"
    assert sum(at_middle in m for m in messages(whole)) == 1
    assert sum(at_middle in m for m in messages(sampled)) == 1
    assert sampled.shape.documents_estimated == 1_000  # the records before it; it is not one
    assert sampled.info.status == whole.info.status  # both stop reading where the length breaks
