"""`--exact` gives the client-side figures: for the demo database and for every corpus dataset
loaded into the server, the exact pass's shape equals `infer_shape` over every document read
back with a plain find, field by field (tests/exact_compare.py lines them up).

The exact pass starts from a SMALL sample (50 documents), so the paths the sample missed must be
found by the server's own walk of the keys. Each collection's one-line summary is printed at the
end of the module (whatever the outcome); the whole table of figure / client / exact / equal is
printed per collection (`pytest -s` shows it, and a failure shows it with its differing rows).

By default EVERY corpus dataset runs, every collection of each, but each collection is loaded
capped to a prefix of its file: its first documents in file order, while they fit in
PREFIX_BYTES (64 KB) of BSON and number at most PREFIX_DOCUMENTS (300), always at least one
(a first document over the budget goes in alone). SecantusDB evaluates the exact pass's
expressions in Python, a few hundred documents a second: the whole corpus (221,566 documents)
takes about 30 minutes, the prefixes (3,341 documents) under a minute. The summary says what was
loaded, e.g. "sample_weatherdata.data: first 43 of 10,000 documents". A prefix leaves out what
only comes later in a file (the 480 KB neighborhood geometry is the 191st of 195): the whole
load below is what reaches it.

To load every dataset whole instead (about 30 minutes on SecantusDB):

    NOSQL_ADVISOR_EXACT_CORPUS=all .venv/bin/python -m pytest tests/test_exact_corpus.py -q

or a comma-separated list of dataset names in place of `all` loads those whole (the others
still run, capped; `-k` leaves them out).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bson import ObjectId
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from exact_compare import Comparison, client_side_shape, compare, table
from nosql_advisor.demo import build_demo, load_live
from nosql_advisor.errors import EXIT_OK
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.sources import export
from nosql_advisor.sources.base import Selection
from nosql_advisor.sources.live import LiveOptions

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"  # as conftest.py
SAMPLE_SIZE = 10  # the exact pass's first sample: small, so the server must find what it missed
BATCH = 1000
# SecantusDB evaluates the exact pass's expressions in Python (a few hundred documents a second on
# this machine): the largest corpus collection (100,000 documents) needs more than the default 60 s
EXACT_MAX_TIME_MS = 900_000
DEMO_DATABASE = "x_demo_shop"
DEMO_SCALE = 0.05
# The exact pass costs about a quarter of a second per collection on SecantusDB whatever it holds,
# so of the demo's 40 collections these run (906 documents at DEMO_SCALE): products for its 669
# paths, the nested category trees, and a spread of types (decimals, dates, legacy values, a
# time-bucketed collection). The paths the first sample misses are found in the corpus
# (sample_analytics.customers: 565 of 784 paths).
DEMO_COLLECTIONS = ("category_trees", "customers", "events_t_0001", "invoices", "legacy_notes", "orders",
                    "payments", "products")
# The figures the exact pass falls back on when the server lacks an operator (a real mongod
# before 4.4 has no $bsonSize, before 4.0 no $toDate). SecantusDB 0.7.0b3 has both, so on it no
# figure may fall back; on NOSQL_ADVISOR_TEST_URI the test asks that server what it lacks.
FALLBACK_OF = {"$bsonSize": "document_size", "$toDate": "created_per_month"}
# on literals, so the probe does not depend on what the collection holds (a string _id has no date)
PROBES = {"$bsonSize": {"$bsonSize": {"$literal": {"a": 1}}}, "$toDate": {"$toDate": ObjectId("5f0000000000000000000000")}}
UNKNOWN_OPERATOR = {168, 31325}  # InvalidPipelineOperator; "Unknown expression" on newer servers


# What each collection of a dataset holds by default: the prefix of its file (first documents in
# file order) that fits in PREFIX_BYTES of BSON and has at most PREFIX_DOCUMENTS, never fewer than
# one document. NOSQL_ADVISOR_EXACT_CORPUS=all (or a comma-separated list of dataset names) loads
# those datasets whole instead (about 30 minutes for the whole corpus on SecantusDB).
PREFIX_BYTES = 64 * 1024
PREFIX_DOCUMENTS = 300
PREFIX_RULE = f"first_{PREFIX_BYTES // 1024}KB_or_{PREFIX_DOCUMENTS}_documents_of_each_collection"
CHOSEN = os.environ.get("NOSQL_ADVISOR_EXACT_CORPUS", "")


def dataset_names() -> list[str]:
    """Every folder of ../shared/corpus/datasets (one database each); a placeholder when the
    corpus is absent, which the `corpus` marker skips with its reason."""
    folder = CORPUS / "datasets"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else ["absent"]


def whole(dataset: str) -> bool:
    """Whether NOSQL_ADVISOR_EXACT_CORPUS asks for this dataset loaded whole, not capped."""
    names = {name.strip() for name in CHOSEN.split(",") if name.strip()}
    return "all" in names or dataset in names


def dataset_params() -> list:
    """One test per dataset, its id saying what is loaded: the prefix rule, or `whole`."""
    return [pytest.param(name, id=f"{name}-{'whole' if whole(name) else PREFIX_RULE}") for name in dataset_names()]


def prefix(documents: Iterator[tuple[dict, int]], budget: int | None = PREFIX_BYTES,
           at_most: int | None = PREFIX_DOCUMENTS) -> list[dict]:
    """The first (document, BSON size) pairs, in order, while their sizes add up to no more than
    `budget` and they number no more than `at_most`; the first document always (however big).
    None for both: every document."""
    kept, used = [], 0
    for document, size in documents:
        if kept and ((budget is not None and used + size > budget) or (at_most is not None and len(kept) >= at_most)):
            break
        kept.append(document)
        used += size
    return kept


def database_name(dataset: str) -> str:
    return "x_" + dataset.replace("-", "_").replace(".", "_")


@pytest.fixture(scope="module")
def client(mongo_uri):
    with MongoClient(mongo_uri) as client:
        yield client


@pytest.fixture(scope="module")
def summaries(request):
    """Lines written to the terminal when the module ends: one per collection, and the load times."""
    lines: list[str] = []
    yield lines
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if reporter is None or capture is None or not lines:
        return
    with capture.global_and_fixture_disabled():  # past the capture, so it shows without -s too
        reporter.write_sep("-", "exact vs client-side inference")
        for line in lines:
            reporter.write_line(line)


@pytest.fixture(scope="module")
def load_dataset(client, corpus: Path, summaries):
    """A loader of one corpus dataset into its own database (one collection per file), once per
    module: {collection: documents loaded}. Each file is capped to its `prefix` unless the dataset
    is asked for `whole`; the summary says how many of the file's documents went in. Files are
    read by the project's export reader, so their Extended JSON types (long, decimal, dates)
    survive into the server."""
    loaded: dict[str, dict[str, int]] = {}

    def load(dataset: str) -> dict[str, int]:
        if dataset not in loaded:
            started = time.monotonic()
            database = client[database_name(dataset)]
            client.drop_database(database.name)
            files = sorted((corpus / "datasets" / dataset).glob("*.json*"))
            loaded[dataset] = {}
            for path in files:
                name = path.name.split(".")[0]
                loaded[dataset][name] = load_file(path, database[name], capped=not whole(dataset))
                total = export.count_ndjson_records(path)
                kept = "all" if whole(dataset) else f"first {loaded[dataset][name]:,} of"
                summaries.append(f"{dataset}.{name}: {kept} {total:,} documents")
            seconds, documents = time.monotonic() - started, sum(loaded[dataset].values())
            summaries.append(f"{dataset} loaded: {documents:,} documents in {seconds:.1f} s "
                             f"({documents / seconds:,.0f} documents/s)")
        return loaded[dataset]

    return load


def load_file(path: Path, collection, capped: bool = True) -> int:
    """Insert the file's `prefix` (every document when not `capped`), in batches; how many went
    in. A line the reader refuses among them fails the load (the comparison must be over exactly
    the documents of the file it names)."""
    problems: list = []
    budget, at_most = (PREFIX_BYTES, PREFIX_DOCUMENTS) if capped else (None, None)
    documents = prefix(decoded_documents(path, problems), budget, at_most)
    assert not problems, f"{path}: {problems[:3]}"
    for start in range(0, len(documents), BATCH):
        collection.insert_many(documents[start:start + BATCH], ordered=True)
    return len(documents)


def decoded_documents(path: Path, problems: list) -> Iterator[tuple[dict, int]]:
    """The file's documents in file order with their BSON sizes, decoded one at a time as asked
    (so a prefix reads no further than it keeps); what the reader refuses goes to `problems`."""
    for record in export.read_export_records(path, problems, lambda _: None):
        decoded = export.decode_export_record(record, path, problems)
        if decoded is not None:
            yield decoded


@pytest.fixture(scope="module")
def demo_loaded(mongo_uri, client, summaries) -> dict[str, int]:
    """DEMO_COLLECTIONS of the demo `shop` database (small scale) loaded as `demo load` does,
    under its own name."""
    demo = build_demo(seed=7, scale=DEMO_SCALE)
    kept = [c for c in demo.collections if c.name in DEMO_COLLECTIONS]
    assert sorted(c.name for c in kept) == sorted(DEMO_COLLECTIONS)  # none renamed away
    summaries.append(f"{DEMO_DATABASE}: {len(kept)} of {len(demo.collections)} demo collections (scale {DEMO_SCALE}), "
                     f"{sum(len(c.documents) for c in kept):,} documents")
    demo = dataclasses.replace(demo, database=DEMO_DATABASE, collections=kept)
    load_live(demo, mongo_uri)
    return {c.name: len(c.documents) for c in demo.collections}


def exact_against_client(uri: str, client, database: str, summaries: list[str]) -> list[Comparison]:
    """Scan `database` with --exact (first sample of SAMPLE_SIZE) and hold every collection's
    shape to the client-side inference over all its documents."""
    started = time.monotonic()
    landscape = scan_sources([uri], ScanOptions(exact=True, live=LiveOptions(max_time_ms=EXACT_MAX_TIME_MS),
                                                selection=Selection(databases=(database,), sample_size=SAMPLE_SIZE)))
    scanned = time.monotonic() - started
    errors = [str(p) for p in landscape.problems if p.exit_code != EXIT_OK]
    assert not errors, errors
    comparisons = []
    for collection in landscape.collections:
        shape = collection.shape
        assert collection.info.status == "complete", (shape.namespace, collection.info.status_reason)
        # a collection of no more than the first sample was read whole by it: already exact, so
        # no exact pass runs there (method "full"); every larger one is read by the server
        expected = "full" if shape.sampled <= SAMPLE_SIZE else "exact"
        assert shape.method == expected, (shape.namespace, shape.method, shape.sampled)
        comparison = compare(client_side_shape(client, shape.namespace), shape)
        found_only = len((shape.exact or {}).get("found_only_by_exact") or ())
        summaries.append(f"{comparison.summary()}, {found_only} paths found only by the exact pass")
        print(f"\n== {shape.namespace} (exact: {shape.exact})\n{table(comparison.rows)}")
        assert set((shape.exact or {}).get("fallbacks", {})) == fallbacks_expected(client, shape.namespace)
        comparisons.append(comparison)
    assert any(c.shape.method == "exact" for c in landscape.collections), f"{database}: no exact pass ran"
    summaries.append(f"{database}: scanned with --exact in {scanned:.1f} s")
    return comparisons


def fallbacks_expected(client, namespace: str) -> set[str]:
    """The figures that must fall back: those of the operators this server refuses, asked here
    with one tiny aggregate each (independently of the exact pass's own probe)."""
    database, _, name = namespace.partition(".")
    lacking = set()
    for operator, expression in PROBES.items():
        try:
            list(client[database][name].aggregate([{"$limit": 1}, {"$project": {"x": expression}}]))
        except OperationFailure as error:
            if error.code not in UNKNOWN_OPERATOR:
                raise
            lacking.add(FALLBACK_OF[operator])
    return lacking


def differences(comparisons: list[Comparison]) -> str:
    """The differing rows of every collection, values in full: the failure message."""
    lines = []
    for comparison in comparisons:
        lines += [f"{row.namespace} {row.where or '(collection)'} {row.figure}: client {row.client!r} "
                  f"!= exact {row.exact!r}" for row in comparison.differing]
    return "\n".join(lines)


@pytest.mark.live
def test_exact_figures_equal_client_side_inference_on_a_spread_of_demo_collections(mongo_uri, client, demo_loaded, summaries):
    if not os.environ.get("NOSQL_ADVISOR_TEST_URI"):  # SecantusDB has every operator: nothing falls back
        assert fallbacks_expected(client, f"{DEMO_DATABASE}.orders") == set()
    comparisons = exact_against_client(mongo_uri, client, DEMO_DATABASE, summaries)
    assert sorted(c.namespace for c in comparisons) == sorted(f"{DEMO_DATABASE}.{n}" for n in demo_loaded)
    assert not differences(comparisons), differences(comparisons)


@pytest.mark.live
@pytest.mark.corpus
@pytest.mark.parametrize("dataset", dataset_params())
def test_exact_figures_equal_client_side_inference_on_the_first_documents_of_each_corpus_collection(
        dataset, mongo_uri, client, load_dataset, summaries):
    """Every collection of the dataset, each its file's `prefix` (or whole, when asked): the
    database holds what was loaded, and the exact pass agrees with the client on all of it."""
    loaded = load_dataset(dataset)
    database = database_name(dataset)
    comparisons = exact_against_client(mongo_uri, client, database, summaries)
    assert sorted(c.namespace for c in comparisons) == sorted(f"{database}.{n}" for n in loaded)
    counts = {c.namespace.partition(".")[2]: c.rows[0].client for c in comparisons}  # the `sampled` row
    assert counts == loaded  # the truth read every document that was loaded
    assert not differences(comparisons), differences(comparisons)


def test_the_comparison_names_the_differing_figure_and_leaves_out_only_what_the_exact_pass_declared():
    """No server: two shapes a string apart must differ in that figure alone (and a path one
    of them lacks in its presence); once the exact side declares it a fallback, it is excluded."""
    from nosql_advisor.shape import infer_shape

    truth = infer_shape([({"_id": 1, "name": "abc"}, 30), ({"_id": 2, "name": "de"}, 29)], "x.t")
    other = infer_shape([({"_id": 1, "name": "abc"}, 30), ({"_id": 2, "name": "dex", "extra": 1}, 29)], "x.t")
    comparison = compare(truth, other)
    assert [(r.where, r.figure) for r in comparison.differing] == [("extra", "present"), ("name", "string_length")]
    other.exact = {"fallbacks": {"string_length": "no $strLenCP"}, "from_sample": ["extra:present"]}
    again = compare(truth, other)
    assert again.differing == []
    assert [(r.where, r.figure, r.excluded) for r in again.excluded] == [  # a bare name: on every path
        ("_id", "string_length", "fallback: no $strLenCP"), ("extra", "present", "from the sample"),
        ("name", "string_length", "fallback: no $strLenCP")]
    assert "excluded (fallback: no $strLenCP)" in table(again.rows)


def test_a_prefix_stops_at_its_byte_budget_or_its_count_and_always_keeps_the_first_document():
    """No server: documents of 40 bytes each under a budget of 100 bytes: the first two (80
    bytes; a third would make 120); a count of 1 keeps one; a first document over the budget
    still goes in, alone; no cap keeps all."""
    sized = [({"n": n}, 40) for n in range(5)]
    assert prefix(iter(sized), budget=100, at_most=10) == [{"n": 0}, {"n": 1}]
    assert prefix(iter(sized), budget=1000, at_most=1) == [{"n": 0}]
    assert prefix(iter([({"big": 1}, 500_000), ({"n": 1}, 40)]), budget=100, at_most=10) == [{"big": 1}]
    assert prefix(iter(sized), budget=None, at_most=None) == [d for d, _ in sized]
