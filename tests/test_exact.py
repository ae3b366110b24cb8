"""`--exact`: the server computes the shape over every document, and it is the shape client-side
inference gives over the same documents, figure by figure.

Crafted documents go into databases of the session server; the truth is `infer_shape` over every
document read back with a plain find (raw BSON sizes, decoded as the live reader decodes), and
the exact shape is what `scan_sources(..., ScanOptions(exact=True))` answers after a sample of 50.
"""

from __future__ import annotations

import asyncio
import random
import struct
from datetime import datetime, timedelta, timezone

import pytest
from bson import Binary, Code, DBRef, Decimal128, Int64, MaxKey, MinKey, ObjectId, Regex, Timestamp
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient

from helpers import valid
from nosql_advisor import exact
from nosql_advisor.advise import advise
from nosql_advisor.report.json_report import build_report
from nosql_advisor.demo.server import start_secantus
from nosql_advisor.errors import EXIT_INCOMPLETE, EXIT_OK
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.shape.infer import infer_shape
from nosql_advisor.sources import live
from nosql_advisor.sources.base import CODEC_OPTIONS, Selection
from nosql_advisor.sources.legacy_types import decode_one
from nosql_advisor.throttle import Throttle

pytestmark = pytest.mark.live

DB = "h1_exact"
RARE_DB = "h1_exact_rare"
SAMPLE = 50
COLLECTION_FIGURES = ("sampled", "document_size", "id_types", "created_range", "created_per_month", "max_depth")
FIELD_FIGURES = ("depth", "count", "probability", "types", "string_length", "number_range", "date_range",
                 "objectid_time_range", "fractional_doubles")


# -- the documents ------------------------------------------------------------------------

def object_id(when: datetime, number: int) -> ObjectId:
    return ObjectId(struct.pack(">I", int(when.timestamp())) + number.to_bytes(8, "big"))


def crafted_documents() -> list[dict]:
    """80 documents holding every BSON type PyMongo writes, ints next to longs, NaN and
    infinities, dates, strings past 1024 characters, nested arrays
    of arrays, arrays of subdocuments with optional keys, a DBRef, three _id types."""
    rng = random.Random(12)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    numbers = [1, -7, 2**31, Int64(5), 2.5, 3.0, float("nan"), float("inf"), float("-inf"),
               Decimal128("1.25"), Decimal128("NaN"), Decimal128("-Infinity"), Decimal128("-1E+10")]
    odd = [True, None, Regex("^a", "i"), Code("f()"), Code("g(x)", {"x": 1}), Timestamp(5, 1), MinKey(),
           MaxKey(), Binary(b"\x00\x01", 4), DBRef("users", 3), ObjectId(), datetime(1999, 1, 1),
           {"$ref": 5, "$id": 1}]  # not a DBRef to PyMongo ($ref is no string): an object it walks
    documents = []
    for i in range(80):
        document = {
            "_id": object_id(start + timedelta(days=9 * i), i) if i % 10 else (i if i % 20 else f"key-{i}"),
            "n": numbers[i % len(numbers)],
            "s": "é" * rng.choice([0, 1, 7, 1023, 1024, 1500, 2049, 3000]),
            "when": start + timedelta(hours=37 * i),
            "items": [{"sku": f"s{j}", "qty": j, **({"note": "x" * j} if j % 2 else {})}
                      for j in range(i % 4)],
            "grid": [[1, [2.5, "ab"]], [], ["c"]] if i % 3 else [],
            "deep": {"a": {"b": {"c": [{"d": i}], "e": None}}},
            "odd": odd[i % len(odd)],
        }
        if i % 5 == 0:
            del document["when"]
        documents.append(document)
    return documents


def truth(client: MongoClient, database: str, name: str):
    """Client-side inference over every document, read as the live reader reads them."""
    raw_options = CODEC_OPTIONS.with_options(document_class=RawBSONDocument)
    raws = client.get_database(database, codec_options=raw_options)[name].find()
    return infer_shape(((decode_one(bytes(raw.raw), CODEC_OPTIONS), len(raw.raw)) for raw in raws),
                       f"{database}.{name}")


@pytest.fixture(scope="module")
def scanned(mongo_uri):
    """One exact scan of the crafted database (a populated and an empty collection)."""
    client = MongoClient(mongo_uri)
    client.drop_database(DB)
    client[DB].kinds.insert_many(crafted_documents())
    client[DB].create_collection("empty")
    landscape = scan_sources([mongo_uri], ScanOptions(exact=True, selection=Selection(databases=(DB,),
                                                                                      sample_size=SAMPLE)))
    yield client, landscape
    client.drop_database(DB)
    client.close()


def differences(client_side, exact_shape) -> list[str]:
    found = [f"{name}: {getattr(client_side, name)!r} != {getattr(exact_shape, name)!r}"
             for name in COLLECTION_FIGURES if getattr(client_side, name) != getattr(exact_shape, name)]
    mine, theirs = {f.path: f for f in client_side.fields}, {f.path: f for f in exact_shape.fields}
    if set(mine) != set(theirs):
        found.append(f"paths: only client-side {sorted(set(mine) - set(theirs))}, "
                     f"only exact {sorted(set(theirs) - set(mine))}")
    for path in sorted(set(mine) & set(theirs)):
        a, b = mine[path], theirs[path]
        found += [f"{path} {name}: {getattr(a, name)!r} != {getattr(b, name)!r}"
                  for name in FIELD_FIGURES if getattr(a, name) != getattr(b, name)]
        if (a.array is None) != (b.array is None):
            found.append(f"{path} array: {a.array!r} != {b.array!r}")
        elif a.array is not None:
            found += [f"{path} array.{name}: {getattr(a.array, name)!r} != {getattr(b.array, name)!r}"
                      for name in ("count", "lengths", "element_types", "nesting")
                      if getattr(a.array, name) != getattr(b.array, name)]
    return found


async def server_passes(mongo_uri: str, namespace: str, sample, *budget):
    """exact.run_passes on the test server, through a Reader as the scan makes one."""
    reader = live.Reader(live.open_client(mongo_uri, live.LiveOptions()), mongo_uri, live.LiveOptions())
    try:
        return await exact.run_passes(reader, namespace, sample, set(exact.PROBES), *budget)
    finally:
        await reader.client.close()


# -- the figures -------------------------------------------------------------------------


def test_every_exact_figure_equals_client_side_inference_over_all_documents(scanned):
    client, landscape = scanned
    shape = next(c.shape for c in landscape.collections if c.info.namespace == f"{DB}.kinds")
    assert shape.method == "exact", landscape.problems
    assert differences(truth(client, DB, "kinds"), shape) == []


def test_the_crafted_documents_reach_what_the_comparison_must_cover(scanned):
    """Guards the test above: the figures it compares are really there to compare."""
    client, landscape = scanned
    shape = next(c.shape for c in landscape.collections if c.info.namespace == f"{DB}.kinds")
    assert shape.sampled == 80 and shape.id_types == {"int": 4, "objectId": 72, "string": 4}
    assert {"int", "long", "double", "decimal"} <= set(shape.field("n").types)
    assert shape.field("s").string_length["max"] == 3000  # bucketed above 1024, exact max
    assert shape.field("grid").array.nesting == 3
    assert shape.field("items.note").probability < 1 and shape.field("deep.a.b.c.d").count == 80
    assert {"javascript", "javascriptWithScope", "minKey", "maxKey", "regex", "timestamp", "binData",
            "date", "object", "null", "bool", "objectId"} <= set(shape.field("odd").types)
    # a DBRef is an object PyMongo does not walk into (its string $ref is not counted), a
    # {$ref: 5, $id: 1} object is an ordinary one
    plain = sum(1 for d in crafted_documents() if d["odd"] == {"$ref": 5, "$id": 1})
    assert shape.field("odd.$ref").types == {"int": plain} and plain > 0
    fractional = [d["n"] for d in crafted_documents() if type(d["n"]) is float and not d["n"].is_integer()]
    assert shape.field("n").fractional_doubles == len(fractional) > 0  # 2.5, NaN, inf, -inf; not 3.0


def test_an_empty_collection_read_whole_by_the_sample_gets_no_exact_pass(scanned):
    """A collection the sample read whole (a find) is already exact: method stays "full"."""
    client, landscape = scanned
    empty = next(c for c in landscape.collections if c.info.namespace == f"{DB}.empty")
    assert empty.shape.method == "full" and empty.shape.exact is None
    assert empty.shape.sampled == 0 and empty.shape.fields == []
    assert differences(truth(client, DB, "empty"), empty.shape) == []


def test_an_exact_shape_says_how_it_was_read_and_has_no_intervals(scanned):
    _, landscape = scanned
    shape = next(c.shape for c in landscape.collections if c.info.namespace == f"{DB}.kinds")
    assert shape.documents_estimated == 80 and shape.exact["documents"] == 80
    assert shape.exact["passes"] == 1 and shape.exact["fallbacks"] == {}  # SecantusDB has every operator
    assert "distinct_estimate" in shape.exact["from_sample"]
    assert all(field.probability_ci is None for field in shape.fields)
    assert shape.to_dict()["method"] == "exact"


def test_rules_and_report_json_take_an_exact_shape_unchanged(scanned):
    _, landscape = scanned
    report = build_report(landscape, advise(landscape))
    assert valid(report) == []
    (kinds,) = [c for c in report["collections"] if c["namespace"] == f"{DB}.kinds"]
    assert kinds["method"] == "exact" and kinds["exact"]["documents"] == 80
    assert not any("probability_ci" in field for field in kinds["fields"])


# -- keys the sample missed ----------------------------------------------------------------

@pytest.fixture(scope="module")
def rare(mongo_uri):
    """5,000 documents, one of them with a key (and a subdocument) the 50 first lack; the sample
    is those 50 (inferred here, so what it misses is known), the answer the server's."""
    client = MongoClient(mongo_uri)
    client.drop_database(RARE_DB)
    documents = [{"_id": i} for i in range(5000)]
    documents[4321]["rare"] = {"x": 1}
    client[RARE_DB].c.insert_many(documents)
    sample = infer_shape(((d, None) for d in documents[:SAMPLE]), f"{RARE_DB}.c")

    found, passes = asyncio.run(server_passes(mongo_uri, f"{RARE_DB}.c", sample))
    yield sample, found, passes
    client.drop_database(RARE_DB)
    client.close()


def test_a_key_in_one_document_of_5000_the_sample_missed_is_found_only_by_exact(rare):
    sample, answer, passes = rare
    shape = exact.exact_shape(answer, sample, set(exact.PROBES), 5000, passes)
    assert sample.field("rare") is None
    assert shape.field("rare").count == 1 and shape.field("rare").probability == round(1 / 5000, 6)
    assert shape.field("rare.x").count == 1 and shape.field("rare.x").probability == 1.0
    assert shape.exact["found_only_by_exact"] == ["rare", "rare.x"]
    assert [f.path for f in shape.fields if f.found_only_by_exact] == ["rare", "rare.x"]
    assert shape.field("_id").found_only_by_exact is None and shape.field("_id").count == 5000


def test_the_path_cap_keeps_the_sampled_paths_and_counts_what_it_left_out(rare):
    sample, answer, passes = rare
    shape = exact.exact_shape(answer, sample, set(exact.PROBES), 1, passes)
    assert [f.path for f in shape.fields] == ["_id"]
    assert shape.capped.limit == 1 and shape.capped.dropped_keys == 1 and shape.capped.at == {"": 1}


def test_a_walk_built_too_shallow_runs_again_deeper(rare, mongo_uri):  # rare: its database
    """A sample that held only the top level builds a two-level walk with arrays opened one
    level: the server reports objects below it, then arrays nested deeper, and each further
    pass walks deeper until nothing is left below."""
    flat = infer_shape(((d, None) for d in [{"_id": 0}]), f"{RARE_DB}.c")
    assert exact.walk_depth(flat) == (2, 1)
    client = MongoClient(mongo_uri)
    client[RARE_DB].deeper.insert_many([{"_id": 1, "a": {"b": {"c": {"d": [[[1]]]}}}}, {"_id": 2}])

    found, passes = asyncio.run(server_passes(mongo_uri, f"{RARE_DB}.deeper", flat))
    shape = exact.exact_shape(found, flat, set(exact.PROBES), 100, passes)
    assert passes == 3  # objects below level 2, then arrays nested below level 1
    assert shape.field("a.b.c.d").array.nesting == 3
    assert shape.field("a.b.c.d").array.element_types == {"array": 2, "int": 1}
    assert shape.exact["fallbacks"] == {}
    assert differences(truth(client, RARE_DB, "deeper"), shape) == []
    client.close()


def test_an_operator_the_server_lacks_is_detected_and_its_figures_fall_back_to_the_sample(rare, mongo_uri):
    """The probe asks the server; a shape built without $bsonSize and $toDate takes document
    sizes and months from the sample and says so, figure by figure."""
    sample, answer, passes = rare

    async def probe(expression):
        reader = live.Reader(live.open_client(mongo_uri, live.LiveOptions()), mongo_uri, live.LiveOptions())
        try:
            return await exact._answers(reader, f"{RARE_DB}.c", expression)
        finally:
            await reader.client.close()

    assert asyncio.run(probe({"$noSuchOperator": 1})) is False
    assert asyncio.run(probe(exact.PROBES["$bsonSize"])) is True
    sized = infer_shape(((d, 20) for d in [{"_id": 0}, {"_id": 1}]), f"{RARE_DB}.c")
    shape = exact.exact_shape(answer, sized, {"$objectToArray"}, 5000, passes)
    assert set(shape.exact["fallbacks"]) == {"document_size", "created_per_month"}
    assert "$bsonSize" in shape.exact["fallbacks"]["document_size"]
    assert shape.document_size == sized.document_size and shape.sampled == 5000


# -- what stops the pass --------------------------------------------------------------------

def test_a_failed_exact_pass_keeps_the_sample_and_marks_the_collection_timed_out():
    """failCommand on the aggregation after the describe ($collStats), the $sample and the three
    operator probes: the collection keeps its sampled shape and the run would exit 4."""
    with start_secantus(test_commands=True) as server:
        client = MongoClient(server.uri)
        client.f.c.insert_many([{"_id": i, "a": i} for i in range(60)])
        client.admin.command({"configureFailPoint": "failCommand", "mode": {"skip": 5, "times": 5},
                              "data": {"failCommands": ["aggregate"], "errorCode": 50}})
        landscape = scan_sources([server.uri], ScanOptions(exact=True, selection=Selection(databases=("f",),
                                                                                           sample_size=SAMPLE)))
        client.close()
    (collection,) = landscape.collections
    assert collection.shape.method == "sample" and collection.shape.sampled == SAMPLE
    assert collection.info.status == "timed_out"
    assert "the exact pass did not finish" in collection.info.status_reason
    assert max(problem.exit_code for problem in landscape.problems) == EXIT_INCOMPLETE


def test_max_docs_keeps_the_sample_with_a_note_and_the_throttle_is_paid(mongo_uri):
    client = MongoClient(mongo_uri)
    client.drop_database("h1_exact_small")
    client.h1_exact_small.c.insert_many([{"_id": i, "a": "x" * i} for i in range(5)])
    throttle = Throttle(None)
    small = Selection(databases=("h1_exact_small",), sample_size=3)
    paid = scan_sources([mongo_uri], ScanOptions(exact=True, throttle=throttle, selection=small))
    capped = scan_sources([mongo_uri], ScanOptions(exact=True, max_docs=7, selection=small))
    client.drop_database("h1_exact_small")
    client.close()
    assert paid.collections[0].shape.method == "exact"
    assert throttle.documents == 3 + 5  # the $sample of 3, then the exact pass's 5
    note = [p for p in capped.problems if "not read exactly" in p.message]
    assert capped.collections[0].shape.method == "sample"
    assert [(p.message, p.exit_code) for p in note] == [
        ("not read exactly: about 5 documents plus the 3 sampled would read more than --max-docs 7; "
         "the shape is from the sample", EXIT_OK)]


def test_a_collection_the_sample_read_whole_gets_no_exact_pass_and_pays_nothing_more(mongo_uri):
    client = MongoClient(mongo_uri)
    client.drop_database("h1_exact_whole")
    client.h1_exact_whole.c.insert_many([{"_id": i} for i in range(5)])
    throttle = Throttle(None)
    whole = scan_sources([mongo_uri], ScanOptions(exact=True, throttle=throttle,
                                                  selection=Selection(databases=("h1_exact_whole",))))
    client.drop_database("h1_exact_whole")
    client.close()
    (collection,) = whole.collections
    assert collection.shape.method == "full" and collection.info.status == "complete"
    assert throttle.documents == 5  # the find only
    assert not any("exact" in p.message for p in whole.problems)


# -- defects found in review ---------------------------------------------------------------

def sampled_then(mongo_uri, database: str, documents: list[dict], sample: int, before_exact=None, **options):
    """Sample `database`.c (no exact pass), call `before_exact(client)`, then run read_exact on
    the sampled collection: what a collection dropped or grown between the two passes gives."""
    from nosql_advisor.progress import Reporter  # noqa: PLC0415
    client = MongoClient(mongo_uri)
    client.drop_database(database)
    client[database].c.insert_many(documents)
    scan_options = ScanOptions(exact=True, selection=Selection(databases=(database,), sample_size=sample), **options)
    landscape = scan_sources([mongo_uri], ScanOptions(selection=scan_options.selection))
    (collection,) = landscape.collections
    if before_exact:
        before_exact(client)

    async def exact_pass():
        reader = live.Reader(live.open_client(mongo_uri, live.LiveOptions()), mongo_uri, live.LiveOptions())
        try:
            await exact.read_exact(reader, collection, scan_options, Reporter(False), exact.Operators())
        finally:
            await reader.client.close()

    asyncio.run(exact_pass())
    client.drop_database(database)
    client.close()
    return collection


def test_a_collection_dropped_before_its_exact_pass_is_dropped_and_keeps_its_sample(mongo_uri):
    collection = sampled_then(mongo_uri, "h1_exact_drop", [{"_id": i, "a": i} for i in range(60)], 10,
                              lambda client: client.h1_exact_drop.drop_collection("c"))
    assert collection.info.status == "dropped" and "during the exact pass" in collection.info.status_reason
    assert collection.shape.method == "sample" and collection.shape.sampled == 10
    assert {f.path for f in collection.shape.fields} == {"_id", "a"}
    assert max(p.exit_code for p in collection.info.problems) == EXIT_INCOMPLETE


def test_a_collection_grown_past_max_docs_before_its_exact_pass_keeps_its_sample(mongo_uri):
    def grow(client):
        client.h1_exact_grow.c.insert_many([{"_id": 100 + i} for i in range(30)])

    collection = sampled_then(mongo_uri, "h1_exact_grow", [{"_id": i} for i in range(20)], 5, grow, max_docs=40)
    assert collection.shape.method == "sample" and collection.info.status == "complete"
    assert any("grew past --max-docs 40" in p.message and "stopped at 35" in p.message
               for p in collection.info.problems)


def test_a_top_level_key_with_a_dot_is_not_merged_with_the_nested_path(mongo_uri):
    documents = [{"_id": i, "a": {"b": 1}, "a.b": "x"} for i in range(10)]
    collection = sampled_then(mongo_uri, "h1_exact_dot", documents, 3)
    shape = collection.shape
    assert shape.method == "exact"
    dotted = sorted((f.depth, f.count, f.probability, dict(f.types)) for f in shape.fields if f.path == "a.b")
    assert dotted == [(1, 10, 1.0, {"string": 10}), (2, 10, 1.0, {"int": 10})]


def test_a_deep_document_the_sample_missed_is_walked_to_its_bottom(rare, mongo_uri):  # rare: its database
    deep: dict = {"leaf": 1}
    for _ in range(60):
        deep = {"d": deep}
    client = MongoClient(mongo_uri)
    client[RARE_DB].deepest.insert_many([{"_id": 1, "d": deep}, {"_id": 2}])
    flat = infer_shape(((d, None) for d in [{"_id": 0}]), f"{RARE_DB}.deepest")

    found, passes = asyncio.run(server_passes(mongo_uri, f"{RARE_DB}.deepest", flat))
    shape = exact.exact_shape(found, flat, set(exact.PROBES), 1000, passes)
    client.close()
    assert passes == 4 and shape.exact["fallbacks"] == {}
    assert shape.max_depth == 62 == truth(MongoClient(mongo_uri), RARE_DB, "deepest").max_depth


def test_deeper_passes_are_paid_and_stop_before_max_docs(rare, mongo_uri):  # rare: its database
    client = MongoClient(mongo_uri)
    client[RARE_DB].paid.insert_many([{"_id": i, "a": {"b": {"c": {"d": 1}}}} for i in range(4)])
    flat = infer_shape(((d, None) for d in [{"_id": 0}]), f"{RARE_DB}.paid")
    client.close()
    spent = []

    async def spend(n):
        spent.append(n)

    found, passes = asyncio.run(server_passes(mongo_uri, f"{RARE_DB}.paid", flat, None, spend))
    assert passes == 2 and spent == [4, 4]
    spent.clear()
    found, passes = asyncio.run(server_passes(mongo_uri, f"{RARE_DB}.paid", flat, 7, spend))  # a second pass would read 8
    assert passes == 1 and spent == [4]
    shape = exact.exact_shape(found, flat, set(exact.PROBES), 100, passes)
    assert "deep" in shape.exact["fallbacks"]
