"""The native core and the pure-Python reference are one inference: for the same raw BSON, fed
the same way, they give byte-identical shapes (`CollectionShape.to_dict()`), the same rows,
invariants, evolution and fingerprints, the same findings, and the same problems for the
documents that do not decode.

Documents are drawn over every BSON type (tests/bson_strategies.py): the deprecated ones, NaNs
and infinities, dates past datetime's range, non-canonical Decimal128, nesting to 100 levels,
empty, dotted and `$` keys, equal values of different types at one path. A failure prints the
shrunk batch as hex (each document on its own line: `bytes.fromhex` gives it back) and where
the two shapes part.

NOSQL_ADVISOR_SAMENESS_EXAMPLES=2000 runs the main property that many times (default 100; the
other properties run a share of it).
"""

from __future__ import annotations

import difflib
import json
import os
import pickle

import bson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import bson_strategies as bs
from nosql_advisor.rules import run_rules
from nosql_advisor.scan import Collection, Landscape
from nosql_advisor.shape.infer import FLUSH_EVERY, ShapeBuilder
from nosql_advisor.sources.base import CODEC_OPTIONS, CollectionInfo
from nosql_advisor.sources.legacy_types import decode_one

# a failing batch of 300 orders has a large repr: the hex in the message is the useful form
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")
EXAMPLES = int(os.environ.get("NOSQL_ADVISOR_SAMENESS_EXAMPLES", "100"))
NAMESPACE = "shop.orders"


def examples(share: float) -> settings:
    """Hypothesis settings running `share` of the main property's examples (at least 2)."""
    return settings(max_examples=max(2, int(EXAMPLES * share)), deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.large_base_example])


def native_builder_class():
    """NativeShapeBuilder, or a loud failure: these tests exist to compare two engines, and a
    skip would present the comparison as made."""
    try:
        from nosql_advisor.shape.native import NativeShapeBuilder
    except ImportError as error:
        pytest.fail(f"native engine not built yet (nosql_advisor.shape.native: {error})", pytrace=False)
    return NativeShapeBuilder


@pytest.fixture(autouse=True)
def native_built():
    """Checked before hypothesis draws anything, so a missing core fails at once, not shrunk."""
    native_builder_class()


def builders(**options) -> tuple[ShapeBuilder, ShapeBuilder]:
    """(reference, native), made with the same arguments."""
    native = native_builder_class()(NAMESPACE, **options)
    reference = ShapeBuilder(NAMESPACE, **options)
    assert (reference.engine, native.engine) == ("python", "native")
    return reference, native


def outcome(builder: ShapeBuilder, problems: list, estimated: int | None = None) -> dict:
    """Everything an engine's inference decides, as comparable text: the shape as report.json
    writes it, what it keeps in memory only (rows, invariants, evolution, fingerprints), the
    findings of every rule on a landscape of that one collection, and the add_raw problems."""
    shape = builder.finish(estimated)
    info = CollectionInfo(NAMESPACE, "dump/shop/orders.bson", "dump", estimated_count=estimated, has_metadata=True,
                          indexes=[{"v": 2, "key": {"_id": 1}, "name": "_id_"}])
    findings = run_rules(Landscape(collections=[Collection(info=info, shape=shape)]))
    return {
        "shape": json.dumps(shape.to_dict(), sort_keys=True, indent=1, default=repr),
        "rows": repr(shape.rows),
        "invariants": repr(shape.invariants),
        "evolution": repr(shape.evolution),
        "fingerprints": repr([(f.path, f.fingerprints) for f in shape.fields]),
        "findings": json.dumps(sorted((f.to_dict() for f in findings), key=lambda f: json.dumps(f, sort_keys=True,
                                                                                                  default=repr)),
                               sort_keys=True, indent=1, default=repr),
        "problems": repr(problems),
    }


def assert_same(reference: dict, native: dict, documents: list[bytes], how: str = "") -> None:
    """Equal outcomes, or a message holding the batch as hex and the first differences."""
    differing = [part for part in reference if reference[part] != native[part]]
    if not differing:
        return
    lines = [f"the engines differ in {', '.join(differing)} ({how or 'one add_raw call'}), "
             f"on {len(documents)} documents:"]
    lines += [raw.hex() for raw in documents[:40]]
    if len(documents) > 40:
        lines.append(f"... ({len(documents) - 40} more)")
    for part in differing:
        diff = difflib.unified_diff(reference[part].splitlines(), native[part].splitlines(),
                                    "python", "native", n=1, lineterm="")
        lines += [f"-- {part}:", *list(diff)[:60]]
    pytest.fail("\n".join(lines), pytrace=False)


def fed(builder: ShapeBuilder, documents: list[bytes], cuts: list[int] = ()) -> list:
    """Feed `documents` as raw batches cut at `cuts` (document indexes); the problems, with
    indexes into the whole list."""
    problems = []
    bounds = [0, *sorted(set(cut for cut in cuts if 0 < cut < len(documents))), len(documents)]
    for low, high in zip(bounds, bounds[1:]):
        data, starts = bs.concatenated(documents[low:high])
        problems += [(low + index, why) for index, why in builder.add_raw(data, starts)]
    return problems


def compare(documents: list[bytes], cuts: list[int] = (), how: str = "", estimated: int | None = None,
            **options) -> None:
    reference, native = builders(**options)
    expected = outcome(reference, fed(reference, documents, cuts), estimated)
    found = outcome(native, fed(native, documents, cuts), estimated)
    # --hypothesis-show-statistics: how many batches the C walker walked itself
    if currently_in_test_context():
        event("chunks walked by " + (" and ".join(sorted(getattr(native, "walked", {}))) or "none: no document"))
    assert_same(expected, found, documents, how)


# -- the strategies hold what they claim -------------------------------------------------------


@examples(0.05)
@given(bs.layout_batches())
def test_drawn_documents_are_bson_that_pymongo_decodes(documents):
    for raw in documents:
        assert isinstance(decode_one(raw, CODEC_OPTIONS), dict)


@examples(0.1)
@given(bs.damaged_documents())
def test_damaged_documents_are_framed_but_do_not_decode(raw):
    assert int.from_bytes(raw[:4], "little") == len(raw)
    with pytest.raises(Exception):
        bson.decode(raw, CODEC_OPTIONS)


# -- the engines agree -------------------------------------------------------------------------


@examples(1.0)
@given(bs.batches())
def test_one_raw_batch_gives_the_same_shape_rows_findings_and_problems(documents):
    compare(documents)


@examples(0.1)
@given(bs.batches(), st.lists(st.integers(0, 300), max_size=4))
def test_a_batch_split_over_several_add_raw_calls_gives_the_same(documents, cuts):
    compare(documents, cuts, how=f"add_raw cut at {sorted(cuts)}", estimated=len(documents) * 10)


@examples(0.07)
@given(bs.batches(), st.integers(0, 300))
def test_two_builders_pickled_and_merged_give_the_same(documents, cut):
    """As worker processes do: each flushes its share, is pickled back, and the first merges it."""
    cut = min(cut, len(documents))
    found = {}
    first, second = builders(), builders()
    for engine in (0, 1):
        mine, theirs = first[engine], second[engine]
        problems = fed(mine, documents[:cut])
        problems += [(cut + index, why) for index, why in fed(theirs, documents[cut:])]
        theirs.flush()
        mine.merge(pickle.loads(pickle.dumps(theirs)))
        found[engine] = outcome(mine, problems)
    assert_same(found[0], found[1], documents, f"two builders cut at {cut}, pickled, merged")


@examples(0.07)
@given(bs.batches(), st.integers(1, 12), st.integers(0, 6), st.integers(0, 5),
       st.frozensets(st.sampled_from(["tenant_id", "a", "x", "", "status", "a.b"]), max_size=3))
def test_a_small_path_cap_enum_limit_row_count_and_counted_values_give_the_same(documents, max_paths, enum_limit,
                                                                                rows, count_values):
    compare(documents, how=f"max_paths={max_paths} enum_limit={enum_limit} rows={rows} count_values="
            f"{sorted(count_values)}", max_paths=max_paths, enum_limit=enum_limit, rows=rows,
            count_values=count_values)


@examples(0.05)
@given(st.lists(st.one_of(bs.deep_chains(), bs.deep_chains(common=True)), min_size=1, max_size=6),
       st.sampled_from(["a", "", "x.y"]))
def test_nesting_to_100_levels_gives_the_same(chains, key):
    compare([bs.document([("_id", bs.int32(number)), (key, chain)]) for number, chain in enumerate(chains)],
            how="deep chains")


@examples(0.07)
@given(st.one_of(bs.layout_batches(), bs.order_batches), st.lists(bs.damaged_documents(), min_size=1, max_size=3),
       st.lists(st.integers(0, 300), min_size=1, max_size=3))
def test_documents_that_do_not_decode_are_the_same_problems_at_the_same_indexes(documents, damaged, places):
    documents = list(documents)
    for raw, place in zip(damaged, places):
        documents.insert(min(place, len(documents)), raw)
    compare(documents, cuts=[places[0] // 2], how="damaged documents among good ones")


@examples(0.07)
@given(bs.batches(), st.lists(st.booleans(), min_size=1, max_size=40))
def test_decoded_documents_and_raw_batches_mixed_in_one_builder_give_the_same(documents, decoded):
    """`add(document, size)` (a caller holding decoded documents) between add_raw calls."""
    reference, native = builders()
    problems = {}
    for builder in reference, native:
        found = problems[builder.engine] = []
        for number, raw in enumerate(documents):
            if decoded[number % len(decoded)]:
                try:
                    builder.add(decode_one(raw, CODEC_OPTIONS), len(raw))
                except Exception as error:
                    found.append((number, str(error)))
            else:
                found += [(number, why) for _, why in builder.add_raw(raw, [0])]
    assert_same(outcome(reference, problems["python"]), outcome(native, problems["native"]), documents,
                f"add() and add_raw() mixed: {decoded}")


def test_an_empty_batch_adds_nothing():
    reference, native = builders()
    assert reference.add_raw(b"", []) == native.add_raw(b"", []) == []
    assert_same(outcome(reference, []), outcome(native, []), [], "an empty batch")


def test_documents_larger_than_a_chunks_bytes_give_the_same():
    """Chunks close at FLUSH_BYTES as well as at FLUSH_EVERY documents: five 9 MB documents
    among small ones make three chunks."""
    big = [bs.document([("_id", bs.object_id(1_600_000_000 + n, n)), ("blob", bs.string("x" * (9 << 20))),
                        ("n", bs.int32(n))]) for n in range(5)]
    small = [bs.document([("_id", bs.object_id(1_500_000_000 + n, n)), ("n", bs.double(n / 2))]) for n in range(20)]
    documents = [document for pair in zip(big, small) for document in pair] + small[5:]
    compare(documents, cuts=[3, 7], how="9 MB documents")


@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(bs.layout_batches(max_documents=12), bs.layout_batches(max_documents=12, common=True),
                 bs.order_batches), st.integers(0, 2**32 - 1),
       st.integers(1, FLUSH_EVERY))
def test_more_than_5000_documents_walked_in_several_chunks_give_the_same(documents, seed, extra):
    """Copies of a drawn batch, each with its own ObjectId `_id`, past one chunk (FLUSH_EVERY)."""
    copies = (FLUSH_EVERY + extra) // len(documents) + 1
    many = bs.with_object_ids(documents * copies, seed)
    assert len(many) > FLUSH_EVERY
    compare(many, cuts=[len(many) // 3], how=f"{len(many)} documents, cut at a third")


@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32 - 1), st.sampled_from(["common", "any"]), st.integers(600, 3000))
def test_paths_of_more_distinct_values_than_the_sketch_holds_exactly_give_the_same(seed, kinds, count):
    """Past 512 distinct values at a path the sketch keeps the smallest hashes: the engines hash
    doubles (by repr), ints, dates, ObjectIds, strings and bytes themselves, and must agree."""
    documents = bs.many_distinct(seed, count, kinds)
    compare(documents, cuts=[count // 2], how=f"{count} documents of distinct {kinds} values, seed {seed}")


@examples(0.05)
@given(bs.layout_batches(common=True))
def test_documents_of_the_common_kinds_are_walked_by_the_core_itself(documents):
    """The comparisons above are not between the reference and itself: a batch of the kinds most
    data holds is walked by the C walker, chunk by chunk, never handed to the reference."""
    _, native = builders()
    data, starts = bs.concatenated(documents)
    assert native.add_raw(data, starts) == []
    native.finish()
    assert dict(native.walked) == {"native": 1}


# -- examples: where the two could part, written out -------------------------------------------

EQUAL_VALUES = [bs.int32(1), bs.double(1.0), bs.boolean(True), bs.int64(1), bs.decimal("1.0"), bs.string("x"),
                bs.symbol("x"), bs.code("x"), bs.NULL, bs.UNDEFINED, bs.double(float("nan")), bs.double(-0.0),
                bs.int32(0), bs.date(bs.DATETIME_MAX_MS + 1), bs.date(-1)]


@pytest.mark.parametrize("order", ["as written", "reversed"])
def test_equal_values_of_different_types_at_one_path_give_the_same(order):
    values = EQUAL_VALUES if order == "as written" else EQUAL_VALUES[::-1]
    documents = [bs.document([("_id", bs.object_id(1_600_000_000 + number, number)), ("v", value),
                              ("a", bs.arr([value, bs.POOL[number * 7 % len(bs.POOL)]]))])
                 for number, value in enumerate(values)]
    compare(documents, how=f"equal values, {order}")


def test_every_bson_type_once_gives_the_same():
    every = [bs.double(2.5), bs.string("é𝒳"), bs.obj([("", bs.int32(1))]), bs.arr([]), bs.binary(0, b""),
             bs.binary(2, b"ab"), bs.binary(4, bytes(range(16))), bs.UNDEFINED, bs.object_id(0), bs.boolean(False),
             bs.date(bs.INT64_MIN), bs.NULL, bs.regex("^a.b$", "imsux"), bs.db_pointer("shop.users", 7),
             bs.code("f()"), bs.symbol("s"), bs.code_with_scope("g()", [("k", bs.int32(2))]), bs.int32(bs.INT32_MIN),
             bs.timestamp(1, 2), bs.int64(bs.INT64_MAX), bs.decimal("-Infinity"), bs.MIN_KEY, bs.MAX_KEY,
             bs.db_ref("users", 5, "shop")]
    documents = [bs.document([("_id", bs.int32(number)), ("v", value), ("$v", bs.arr([value, value]))])
                 for number, value in enumerate(every)]
    compare(documents, how="each BSON type once")


@pytest.mark.parametrize("depth", [199, 201, 399, 401, 450])
def test_nesting_past_what_the_core_walks_and_past_the_walks_limit_gives_the_same(depth):
    """Deeper than MongoDB allows, as a damaged or foreign dump can be: the core hands such a
    document to the reference, whose walk stops at 400 levels (`too_deep`)."""
    element = bs.int32(1)
    for level in range(depth - 1):
        element = bs.obj([("a", element)]) if level % 2 else bs.arr([element])
    documents = [bs.document([("_id", bs.int32(1)), ("a", element)]), bs.document([("_id", bs.int32(2))])]
    compare(documents, how=f"nesting {depth} levels")
