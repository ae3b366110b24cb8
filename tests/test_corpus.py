"""Inference over the real third-party corpus, checked against an independent recount.

The recount uses plain gzip + json (json_util only to read `$`-wrapped values) or
bson.decode_file_iter, and its own small walk: nothing of the code under test.
"""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import bson
import pytest
from bson import json_util

from nosql_advisor.scan import ScanOptions, scan_sources

pytestmark = pytest.mark.corpus

ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
DATASETS = sorted((ROOT / "datasets").glob("*/*.json.gz")) if ROOT.is_dir() else []
DUMP_DIRS = sorted(p for p in (ROOT / "dumps").iterdir() if p.is_dir() and p.name != "bonniss_archives") if ROOT.is_dir() else []


def type_name(value) -> str:
    """The recount's own classification, straight from the decoded Python value."""
    names = {float: "double", str: "string", dict: "object", list: "array", bool: "bool",
             type(None): "null", bson.ObjectId: "objectId", bson.Int64: "long", bson.Decimal128: "decimal"}
    if type(value) is int:
        return "int" if -(2**31) <= value < 2**31 else "long"
    if type(value).__name__ == "datetime" or type(value).__name__ == "DatetimeMS":
        return "date"
    return names.get(type(value), type(value).__name__)


def recount(documents) -> dict:
    """Top-level fields and one level below: count, type counts, longest array."""
    table: dict = {}
    for document in documents:
        for key, value in document.items():
            _tally(table, key, value)
            if isinstance(value, dict):
                for sub, inner in value.items():
                    _tally(table, f"{key}.{sub}", inner)
    return table


def _tally(table: dict, path: str, value) -> None:
    entry = table.setdefault(path, {"count": 0, "types": Counter(), "longest": None})
    entry["count"] += 1
    entry["types"][type_name(value)] += 1
    if isinstance(value, list):
        entry["longest"] = max(entry["longest"] or 0, len(value))


def read_ndjson(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json_util.loads(line) for line in handle if line.strip()]


def check(shape, documents) -> None:
    assert shape.sampled == len(documents)
    expected = recount(documents)
    found = {f.path: f for f in shape.fields}
    for path, entry in expected.items():
        if path.count(".") == 1 and not all(isinstance(d.get(path.split(".")[0]), dict)
                                            for d in documents if path.split(".")[0] in d):
            continue  # the parent is sometimes an array of objects: the recount above does not descend there
        field = found[path]
        assert field.count == entry["count"], path
        assert field.types == dict(sorted(entry["types"].items())), path
        if entry["longest"] is not None and path.count(".") == 0:
            if field.array.nesting == 1:
                assert field.array.lengths["max"] == entry["longest"], path
            else:  # inner arrays (GeoJSON rings) share the path and can be longer
                assert field.array.lengths["max"] >= entry["longest"], path
    top = [p for p in expected if "." not in p]
    for path in top:
        assert found[path].probability == pytest.approx(expected[path]["count"] / len(documents), abs=1e-6)


@pytest.fixture(scope="module")
def shapes(corpus_landscape) -> dict[Path, object]:
    """Each dataset's shape by file, from conftest's one scan of every dataset folder."""
    return {Path(c.info.location): c.shape for c in corpus_landscape.collections}


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_dataset_matches_a_recount(shapes, dataset):
    check(shapes[dataset], read_ndjson(dataset))


@pytest.mark.parametrize("dump", DUMP_DIRS, ids=lambda p: p.name)
def test_every_dump_matches_a_recount(dump):
    landscape = scan_sources([str(dump)], ScanOptions())
    assert landscape.problems == []
    for collection in landscape.collections:
        path = Path(collection.info.location)
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            documents = list(bson.decode_file_iter(handle))
        check(collection.shape, documents)


def field(shape, path: str):
    return next(f for f in shape.fields if f.path == path)


def test_what_the_corpus_readme_says_is_what_the_shape_says(shapes):
    def corpus_shape(name: str):
        return shapes[ROOT / "datasets" / name]

    assert field(corpus_shape("sample_geospatial/shipwrecks.json.gz"), "depth").types == \
        {"double": 2339, "int": 238, "string": 8518}
    assert field(corpus_shape("ozlerhakan_mongodb-json-files/restaurant.json.gz"), "rating").types == \
        {"double": 1138, "int": 1347, "string": 63}
    assert corpus_shape("sample_restaurants/neighborhoods.json.gz").document_size["max"] == 479_686
    assert field(corpus_shape("sample_supplies/sales.json.gz"), "items").array.lengths["max"] == 10
    assert corpus_shape("ozlerhakan_mongodb-json-files/books.json.gz").id_types == {"int": 399, "objectId": 32}
    customers = corpus_shape("sample_analytics/customers.json.gz")
    dynamic_keys = [f for f in customers.fields if f.path.startswith("tier_and_details.") and f.depth == 2]
    assert len(dynamic_keys) == 456  # 32-hex keys: data used as keys
    weather = corpus_shape("sample_weatherdata/data.json.gz")
    assert field(weather, "airTemperature.value").types == {"double": 6519, "int": 3481}
    assert field(weather, "position").count == 10_000 - 6
    movies = corpus_shape("sample_mflix/movies_subset.json.gz")
    assert field(movies, "imdb.rating").types == {"double": 999, "string": 1}
    assert field(movies, "metacritic").count == 10
    assert field(movies, "writers").array.lengths["max"] == 25


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_libbson_reads_every_line_as_json_util_does(dataset):
    """The fast NDJSON path (libbson, then bson.decode) against json_util + bson.encode, line by
    line, on the first 3,000 lines of each dataset: the same document and BSON size."""
    from itertools import islice

    from nosql_advisor.sources.export import decode_export_record, line_to_bson

    export_json = json_util.JSONOptions(datetime_conversion=json_util.DatetimeConversion.DATETIME_AUTO, tz_aware=False)

    with gzip.open(dataset, "rb") as handle:
        lines = list(islice(handle, 3000))
    for number, line in enumerate(lines, 1):
        expected = json_util.loads(line, json_options=export_json)
        assert decode_export_record((line, number), dataset, []) == (expected, len(bson.encode(expected))), number
    assert all(line_to_bson(line) is not None for line in lines)  # and every line took the libbson path
