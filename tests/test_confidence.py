"""The statistics behind every sampled share (confidence.py), held against values computed
independently: intervals published in the literature, the Wilson closed form written out here,
and properties any 95% interval must have."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nosql_advisor.confidence import (add_intervals, fields_by_depth, lower_bound, parent_occurrences, percent, share_interval,
                                      share_text, unseen_chance, wilson_interval)
from nosql_advisor.shape.infer import ShapeBuilder

Z = NormalDist().inv_cdf(0.975)


def wilson_closed_form(hits: int, n: float) -> tuple[float, float]:
    """The Wilson score interval in its textbook form
    (2np + z² ± z·sqrt(z² + 4np(1-p))) / (2(n + z²)), written independently of the code under test;
    `n` may be an effective (finite-population-corrected) size."""
    p = hits / n if n else 0.0
    root = Z * math.sqrt(Z * Z + 4 * n * p * (1 - p))
    return (2 * n * p + Z * Z - root) / (2 * (n + Z * Z)), (2 * n * p + Z * Z + root) / (2 * (n + Z * Z))


# Wilson score intervals without continuity correction: the first three are the standard
# worked values for n = 10; the last four are Newcombe (1998), Statistics in Medicine 17:857,
# Table I, method 3.
PUBLISHED = [
    (0, 10, 0.0, 0.2775),
    (5, 10, 0.2366, 0.7634),
    (10, 10, 0.7225, 1.0),
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize("hits, n, low, high", PUBLISHED)
def test_wilson_interval_matches_the_published_values(hits, n, low, high):
    found = wilson_interval(hits, n)
    assert found == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize("hits, n", [(0, 1), (1, 3), (7, 10), (982, 1000), (999, 1000), (3, 50_000)])
def test_wilson_interval_equals_the_closed_form(hits, n):
    assert wilson_interval(hits, n) == pytest.approx(wilson_closed_form(hits, n), abs=1e-12)


def test_a_sample_of_the_whole_population_gives_the_point():
    assert wilson_interval(7, 10, population=10) == (0.7, 0.7)
    assert wilson_interval(0, 50, population=50) == (0.0, 0.0)
    assert wilson_interval(7, 10, population=9) == (0.7, 0.7)  # a stale estimate below the sample


def test_the_finite_population_correction_uses_the_effective_size():
    """Half of a population of 2,000: the variance shrinks by (N - n) / (N - 1), so the sample
    counts as n (N - 1) / (N - n) = 1,999 draws."""
    corrected = wilson_interval(900, 1000, population=2000)
    plain = wilson_interval(900, 1000)
    assert corrected[1] - corrected[0] < plain[1] - plain[0]
    # the effective size gives the same interval around the same share
    assert corrected == pytest.approx(wilson_closed_form(900 * 1999 / 1000, 1999), abs=1e-12)


def test_a_huge_population_is_no_correction():
    assert wilson_interval(90, 100, population=10**12) == pytest.approx(wilson_interval(90, 100), abs=1e-9)


def test_nothing_read_says_nothing():
    assert wilson_interval(0, 0) == (0.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 100_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.one_of(st.none(), st.integers(1, 10**7)))
def test_an_interval_holds_its_share_inside_zero_and_one(sample, population):
    hits, n = sample
    low, high = wilson_interval(hits, n, population)
    assert 0.0 <= low <= hits / n <= high <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 20), st.integers(1, 20), st.integers(1, 50), st.integers(2, 20))
def test_an_interval_narrows_as_the_sample_grows_at_the_same_share(hits, extra, scale, factor):
    n = hits + extra  # a share hits/n in [0, 1)
    small = wilson_interval(hits * scale, n * scale)
    large = wilson_interval(hits * scale * factor, n * scale * factor)
    assert large[1] - large[0] < small[1] - small[0]


def test_share_interval_is_the_evidence_form():
    assert share_interval(81, 263) == {"share": 0.308, "ci": [0.2553, 0.3662]}
    assert share_interval(0, 0) == {"share": 0.0, "ci": [0.0, 1.0]}


def test_unseen_chance_is_singletons_over_the_sample():
    assert unseen_chance(3, 100) == 0.03
    assert unseen_chance(0, 0) == 1.0


@pytest.mark.parametrize("share, text", [
    (0.982, "98.2%"), (0.5, "50.0%"), (1.0, "100.0%"), (0.0, "0.0%"),
    (0.9995, "99.95%"),  # not a rounded 100.0%
    (0.0004, "0.04%"),  # not a rounded 0.0%
    (0.9999, "99.99%"), (0.0001, "0.01%"),
    (0.99999, ">99.99%"), (0.00001, "<0.01%"),
])
def test_percent_never_rounds_a_part_to_all_or_nothing(share, text):
    assert percent(share) == text


def test_percent_short_form_for_chart_labels():
    assert percent(0.982, 0) == "98%"
    assert percent(0.996, 0) == "99.6%"
    assert percent(1.0, 0) == "100%"


def test_share_text_puts_the_interval_beside_the_share():
    assert share_text(0.982, [0.969, 0.990]) == "98.2% (96.9–99.0%)"
    assert share_text(0.982, [0.969, 0.990], 0) == "98% (97–99%)"
    assert share_text(1.0, [0.9963, 1.0]) == "100.0% (99.6–100.0%)"
    assert share_text(0.982, None) == "98.2%"  # exact: no interval


def built_shape(method: str, estimated: int | None):
    """Ten documents: `a` in 7; `obj` an object in 6 of them, `obj.x` in 3 of those; `items`
    arrays holding 8 subdocuments in all, `items.sku` in 5 of them; `mixed` an object in 2
    documents and an array of 2 objects in 2 more (6 object occurrences), `mixed.k` in 4."""
    documents = []
    for i in range(10):
        document: dict = {"_id": i}
        if i < 7:
            document["a"] = i
        if i < 6:
            document["obj"] = {"x": 1} if i < 3 else {"y": 2}
        if i < 4:
            document["items"] = [{"sku": "s"}, {"other": 1}] if i < 3 else [{"sku": "s"}, {"sku": "t"}]
        if i in (4, 5):
            document["mixed"] = {"k": 1}
        if i in (6, 7):
            document["mixed"] = [{"k": 1}, {"j": 2}]
        documents.append(document)
    builder = ShapeBuilder("t.c")
    for document in documents:
        builder.add(document)
    shape = builder.finish(estimated)
    shape.method = method
    add_intervals(shape)
    return shape


# path -> (hits, parent occurrences as an object), counted from the documents above
EXPECTED = {"a": (7, 10), "obj.x": (3, 6), "items.sku": (5, 8), "mixed.k": (4, 6), "_id": (10, 10)}


def test_parent_occurrences_counts_objects_and_object_elements():
    shape = built_shape("sample", 1000)
    index = fields_by_depth(shape.fields)
    for path, (hits, occurrences) in EXPECTED.items():
        field = shape.field(path)
        assert (field.count, parent_occurrences(index, field, shape.sampled)) == (hits, occurrences), path
        assert field.probability == pytest.approx(hits / occurrences, abs=1e-6)


def test_add_intervals_scales_each_parent_to_the_collection():
    """1,000 documents estimated, 10 read: each parent's population is its occurrences × 100."""
    shape = built_shape("sample", 1000)
    for path, (hits, occurrences) in EXPECTED.items():
        population = occurrences * 100
        effective = occurrences * (population - 1) / (population - occurrences)
        expected = wilson_closed_form(hits * effective / occurrences, effective)
        assert shape.field(path).probability_ci == pytest.approx([max(0, expected[0]), min(1, expected[1])], abs=1e-6)
        assert lower_bound(shape.field(path)) == shape.field(path).probability_ci[0]


def test_every_field_of_a_sample_carries_an_interval_around_its_share():
    for method in ("sample", "file-sample"):
        for field in built_shape(method, 1000).fields:
            low, high = field.probability_ci
            assert low <= field.probability <= high, (method, field.path)


@pytest.mark.parametrize("method", ["full", "exact"])
def test_a_shape_read_whole_has_exact_shares(method):
    shape = built_shape(method, 10)
    assert all(field.probability_ci is None for field in shape.fields)
    assert lower_bound(shape.field("a")) == 0.7


def test_a_sample_with_no_estimate_is_not_corrected():
    shape = built_shape("sample", None)
    assert shape.field("a").probability_ci == pytest.approx(list(wilson_closed_form(7, 10)), abs=1e-6)


def test_keys_holding_a_dot_find_their_parent_by_depth_not_by_the_last_dot():
    """{"p": {"q.r": 1}} is the path p.q.r one level under p; a top-level key "x.y" is not y
    under x. Every sampled field still gets its interval, and the validator nests each key
    where the documents hold it (no top-level `y`)."""
    from nosql_advisor.schema.generate import generate_validator
    from nosql_advisor.shape import infer_shape

    documents = [{"_id": i, "p": {"q.r": i}, "x.y": "flat", "x": {"y": i}} for i in range(40)]
    shape = infer_shape(((d, None) for d in documents), "t.dots", 4000)
    shape.method = "sample"
    add_intervals(shape)
    assert all(f.probability_ci is not None for f in shape.fields), [f.path for f in shape.fields]
    schema = generate_validator(shape)["$jsonSchema"]
    assert set(schema["properties"]) == {"_id", "p", "x.y", "x"}
    assert set(schema["properties"]["p"]["properties"]) == {"q.r"}
    assert set(schema["properties"]["x"]["properties"]) == {"y"}
    assert schema["properties"]["x.y"]["bsonType"] == "string"
