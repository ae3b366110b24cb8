"""Scale-driver rules on small landscapes: each with a positive case, a clean case and its boundary."""

from __future__ import annotations

import bson
import pytest
from bson import json_util

from nosql_advisor.rules import all_rules, run_rules
from nosql_advisor.scan import ScanOptions, scan_sources


def landscape_of(tmp_path, collections: dict[str, list[dict]], options: dict | None = None):
    for name, documents in collections.items():
        path = tmp_path / "db" / f"{name}.bson"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(bson.encode(d) for d in documents))
        if options and name in options:
            (tmp_path / "db" / f"{name}.metadata.json").write_text(json_util.dumps({"options": options[name]}))
    return scan_sources([str(tmp_path / "db")], ScanOptions())


def rule(rule_id: str):
    """A registered rule (all_rules() registers every check module first)."""
    return next(r for r in all_rules() if r.id == rule_id)


def found(landscape, rule: str) -> list[tuple[str, str | None]]:
    return [(f.namespace, f.path) for f in run_rules(landscape) if f.rule == rule]


ISSUE_11_RULES = {"DM203", "DM204", "DM408", "DM506", "DM507", "DM508"}  # registered by their own modules


def test_every_design_rule_is_registered_with_a_summary():
    ids = [rule.id for rule in all_rules()]
    assert ids == sorted(ids) and len(set(ids) - ISSUE_11_RULES) == 30
    assert all(rule.summary and rule.severity in ("low", "medium", "high", "critical") for rule in all_rules())
    checked = {rule.id for rule in all_rules() if rule.checked}
    workload = {"DM304", "DM401", "DM402", "DM403", "DM404", "DM405", "DM406", "DM407"}  # rules/workload.py
    assert {"DM101", "DM102", "DM103", "DM104", "DM105", "DM106", "DM201", "DM202", "DM301", "DM305", "DM302", "DM303", "DM501",
            "DM502", "DM503", "DM504", "DM505", "DM601", "DM602", "DM603", "DM701", "DM702"} | workload == checked - ISSUE_11_RULES
    assert all(rule.docs() for rule in all_rules() if rule.checked)  # every checked rule has its page


@pytest.mark.parametrize("length, severity", [(50, None), (51, "medium"), (200, "medium"), (201, "high")])
def test_dm101_array_length_boundaries(tmp_path, length, severity):
    """Over 50 elements with no declared maxItems: medium; p99 over 200: high whatever is declared."""
    documents = [{"_id": i, "tags": list(range(length))} for i in range(3)]
    landscape = landscape_of(tmp_path, {"posts": documents})
    assert [f.severity for f in run_rules(landscape) if f.rule == "DM101"] == ([severity] if severity else [])


def test_dm101_declared_max_items_makes_a_large_array_bounded(tmp_path):
    documents = [{"_id": 1, "tags": list(range(100))}]
    schema = {"$jsonSchema": {"properties": {"tags": {"bsonType": "array", "maxItems": 100}}}}
    declared = landscape_of(tmp_path / "a", {"posts": documents}, {"posts": {"validator": schema}})
    undeclared = landscape_of(tmp_path / "b", {"posts": documents})
    assert found(declared, "DM101") == []
    [finding] = [f for f in run_rules(undeclared) if f.rule == "DM101"]
    assert finding.severity == "medium" and finding.evidence["maxItems"] is None


def test_dm103_document_size(tmp_path):
    big = {"_id": 1, "blob": bson.Binary(b"\0" * (5 * 1024 * 1024))}
    landscape = landscape_of(tmp_path, {"files": [big, {"_id": 2}], "small": [{"_id": 1, "x": "y" * 1000}]})
    assert found(landscape, "DM103") == [("db.files", None)]


def nested(levels: int) -> dict:
    """A document whose deepest field is at depth `levels` (tree.child...child.leaf)."""
    document: dict = {"leaf": 1}
    for _ in range(levels - 2):
        document = {"child": document}
    return {"_id": 1, "tree": document}


@pytest.mark.parametrize("levels, flagged", [(10, False), (11, True)])
def test_dm104_depth_boundary(tmp_path, levels, flagged):
    landscape = landscape_of(tmp_path, {"trees": [nested(levels)]})
    assert found(landscape, "DM104") == ([("db.trees", "tree")] if flagged else [])


def test_dm105_date_keys_and_the_clean_case(tmp_path):
    by_day = {"_id": 1, "views": {f"2025-01-{d:02d}": d for d in range(1, 25)}, "address": {"city": "x", "zip": "1"}}
    landscape = landscape_of(tmp_path, {"stats": [by_day]})
    [finding] = [f for f in run_rules(landscape) if f.rule == "DM105"]
    assert (finding.path, finding.evidence["key_kind"], finding.evidence["distinct_keys"]) == ("views", "date", 24)


def test_dm105_too_few_keys_is_not_an_explosion(tmp_path):
    landscape = landscape_of(tmp_path, {"stats": [{"_id": 1, "views": {f"2025-01-{d:02d}": d for d in range(1, 20)}}]})
    assert found(landscape, "DM105") == []


@pytest.mark.parametrize("count, flagged", [(4, False), (5, True)])
def test_dm106_collections_of_one_pattern(tmp_path, count, flagged):
    landscape = landscape_of(tmp_path, {f"log_2025_{m:02d}": [{"_id": 1}] for m in range(1, count + 1)})
    assert found(landscape, "DM106") == ([("db.log_*_*", None)] if flagged else [])


def test_rules_command_lists_rules_and_shows_a_page(tmp_path):
    from helpers import run_in_process

    listing, page, unknown = (run_in_process("rules", *args, cwd=tmp_path) for args in [(), ("DM503",), ("DM999",)])
    assert listing.returncode == 0 and "DM101" in listing.stdout and "DM702" in listing.stdout
    assert page.returncode == 0 and "data violates the declared schema" in page.stdout.lower()
    assert unknown.returncode == 2 and "unknown rule DM999" in unknown.stderr
    assert rule("DM101").thresholds["p99_length"] == 200


def growing(per_month: float, noise: int, count: int = 60) -> list[dict]:
    import datetime
    import random

    rng = random.Random(3)
    start = datetime.datetime(2024, 1, 1)
    documents = []
    for i in range(count):
        months = i * 24 / count  # created over two years
        created = start + datetime.timedelta(days=months * 30.44)
        age_months = 24 - months
        length = max(0, round(age_months * per_month + rng.randint(-noise, noise)))
        documents.append({"_id": bson.ObjectId.from_datetime(created), "history": [bson.ObjectId()] * length})
    return documents


def test_dm102_an_array_that_grows_with_age(tmp_path):
    landscape = landscape_of(tmp_path, {"accounts": growing(per_month=2.0, noise=1)})
    [finding] = [f for f in run_rules(landscape) if f.rule == "DM102"]
    assert finding.path == "history"
    assert 1.8 <= finding.evidence["per_month"] <= 2.2 and finding.evidence["correlation"] > 0.9
    assert 14 <= finding.evidence["bytes_per_element"] <= 18  # an ObjectId element: 12 bytes + key + type
    assert finding.evidence["months_to_16_mib"] > 100_000


def test_dm102_arrays_that_do_not_follow_age_are_not_growing(tmp_path):
    landscape = landscape_of(tmp_path, {"accounts": growing(per_month=0.0, noise=5)})
    assert found(landscape, "DM102") == []


# -- DM101 and GeoJSON: a geometry's coordinates are as long as the shape it draws -------------

def ring(points: int) -> list[list[float]]:
    """A closed ring of `points` positions ([lon, lat] pairs, first equal to last)."""
    positions = [[-73.9 + i / 10_000, 40.7 + (i % 7) / 10_000] for i in range(points - 1)]
    return positions + [positions[0]]


RING_LENGTHS = [4, 6, 1200, 8, 300]  # past DM101's max_length (1,000) and its p99 (200)


def zones(geometry_of_ring) -> list[dict]:
    return [{"_id": i, "name": f"zone {i}", "geometry": geometry_of_ring(ring(n))} for i, n in enumerate(RING_LENGTHS)]


@pytest.mark.parametrize("label, geometry_of_ring, path", [
    ("polygon", lambda r: {"type": "Polygon", "coordinates": [r]}, "geometry.coordinates"),
    ("multipolygon", lambda r: {"type": "MultiPolygon", "coordinates": [[r]]}, "geometry.coordinates"),
    ("linestring", lambda r: {"type": "LineString", "coordinates": r}, "geometry.coordinates"),
    ("geometry collection", lambda r: {"type": "GeometryCollection",
                                       "geometries": [{"type": "LineString", "coordinates": r}]},
     "geometry.geometries.coordinates"),
])
def test_dm101_geojson_coordinates_are_not_unbounded_arrays(tmp_path, label, geometry_of_ring, path):
    landscape = landscape_of(tmp_path, {"zones": zones(geometry_of_ring)})
    [collection] = landscape.collections
    assert collection.shape.field(path).array.lengths["max"] == max(RING_LENGTHS)  # long, but a shape
    assert found(landscape, "DM101") == []


@pytest.mark.parametrize("label, geometry_of_ring", [
    ("no sibling type", lambda r: {"kind": "Polygon", "coordinates": [r]}),
    ("a type that is not GeoJSON", lambda r: {"type": "warehouse", "coordinates": [r]}),
    ("a plain list of the same length", lambda r: {"type": "Polygon", "stops": [str(p) for p in r]}),
])
def test_dm101_arrays_of_the_same_lengths_that_are_no_geometry_are_unbounded(tmp_path, label, geometry_of_ring):
    landscape = landscape_of(tmp_path, {"zones": zones(geometry_of_ring)})
    [(namespace, path)] = found(landscape, "DM101")
    [finding] = [f for f in run_rules(landscape) if f.rule == "DM101"]
    assert namespace == "db.zones" and path.startswith("geometry.")
    assert finding.severity == "high" and finding.evidence["lengths"]["max"] == max(RING_LENGTHS)


def test_a_geometry_read_back_without_value_hashes_is_told_by_its_type_path_and_nested_numbers(tmp_path):
    """A shape from report.json keeps no value of `type`: the sibling path and the nesting decide."""
    from dataclasses import replace

    from nosql_advisor.rules.scale import geometry_of

    [collection] = landscape_of(tmp_path, {"zones": zones(lambda r: {"type": "Polygon", "coordinates": [r]})}).collections
    bare = replace(collection.shape, fields=[replace(f, fingerprints=None) for f in collection.shape.fields])
    coordinates = bare.field("geometry.coordinates")
    assert geometry_of(collection.shape, collection.shape.field("geometry.coordinates"))["decided_by"] == "type values"
    assert geometry_of(bare, coordinates) == {"type_path": "geometry.type", "decided_by": "type path and nested numbers"}


# -- DM102: the horizon in a reader's units ---------------------------------------------------

def track(points_per_month: float, count: int = 60, window_days: float = 1.0) -> list[dict]:
    """GPS tracks (each document a GeoJSON LineString) appended to at `points_per_month`: the
    document created `age` days before the newest holds that age's worth of points."""
    import datetime

    newest = datetime.datetime(2025, 6, 1)
    documents = []
    for i in range(count):
        age_days = window_days * (count - 1 - i) / (count - 1)
        created = newest - datetime.timedelta(days=age_days)
        points = max(2, round(age_days * points_per_month / 30.44))
        documents.append({"_id": bson.ObjectId.from_datetime(created), "type": "LineString",
                          "coordinates": [[-0.1 + j / 1e5, 51.5] for j in range(points)]})
    return documents


def expected_horizon(documents: list[dict], points_per_month: float) -> dict:
    """The horizon worked out from the documents themselves: bytes per point from their encoded
    sizes (a least-squares line through size against length), the p99 length and size."""
    import math
    from statistics import linear_regression

    lengths = [len(d["coordinates"]) for d in documents]
    sizes = [len(bson.encode(d)) for d in documents]
    bytes_per_point = linear_regression(lengths, sizes).slope
    p99 = lambda values: sorted(values)[math.ceil(0.99 * len(values)) - 1]  # noqa: E731
    months = (16 * 1024 * 1024 - p99(sizes)) / (points_per_month * bytes_per_point)
    return {"years": months / 12, "p99_length": p99(lengths), "longest": max(lengths), "months": months}


def test_dm102_a_growing_track_tells_its_horizon_and_is_high_within_two_years(tmp_path):
    import datetime

    rate = 40_000  # points a month: a vehicle reporting every minute or so, never trimmed
    documents = track(rate)
    landscape = landscape_of(tmp_path, {"tracks": documents})
    [finding] = [f for f in run_rules(landscape) if f.rule == "DM102"]
    expected = expected_horizon(documents, rate)
    evidence = finding.evidence
    assert finding.path == "coordinates" and finding.severity == "high" and expected["years"] < 2
    assert evidence["per_month"] == pytest.approx(rate, rel=0.02)
    assert evidence["years_to_16_mib"] == pytest.approx(expected["years"], rel=0.05)
    # an array of [lon, lat] arrays: the shape's length distribution mixes in the pairs, so the longest is told
    assert (evidence["length_measure"], evidence["length_now"]) == ("max", expected["longest"])
    assert evidence["length_in_1_year"] == pytest.approx(expected["longest"] + 12 * rate, rel=0.001)
    assert evidence["length_in_5_years"] == pytest.approx(expected["longest"] + 60 * rate, rel=0.001)
    newest = max(d["_id"].generation_time for d in documents)
    around = (newest + datetime.timedelta(days=expected["months"] * 30.44)).strftime("%Y-%m")
    assert evidence["reaches_16_mib_around"] == around and evidence["counted_from"].startswith("2025-06-01")
    assert f"16 MiB limit in about {evidence['years_to_16_mib']} years (around {around})" in finding.message
    assert f"the longest ({expected['longest']:,}) becomes about {evidence['length_in_1_year']:,} in a year" in finding.message
    assert found(landscape, "DM101") == []  # a geometry: its length is DM102's business, not DM101's


def test_dm102_a_horizon_of_several_years_is_medium(tmp_path):
    rate = 6_000
    documents = track(rate)
    landscape = landscape_of(tmp_path, {"tracks": documents})
    [finding] = [f for f in run_rules(landscape) if f.rule == "DM102"]
    assert 2 < expected_horizon(documents, rate)["years"] < 10
    assert finding.severity == "medium" and "16 MiB" in finding.message


def test_dm102_an_array_that_needs_fifty_thousand_years_is_low_and_gives_no_date(tmp_path):
    documents = growing(per_month=1.75, noise=0)  # ~16-byte ObjectIds: 28 bytes a month
    landscape = landscape_of(tmp_path, {"accounts": documents})
    [finding] = [f for f in run_rules(landscape) if f.rule == "DM102"]
    element = len(bson.encode({"a": [bson.ObjectId()] * 20})) - len(bson.encode({"a": [bson.ObjectId()] * 19}))
    assert 16 * 1024 * 1024 / (1.75 * element) / 12 > 40_000  # the input's own horizon, in years
    assert finding.severity == "low" and finding.evidence["years_to_16_mib"] > 40_000
    assert "16 MiB" not in finding.message and finding.evidence["reaches_16_mib_around"] is None
    assert "more than 10 years away" in finding.message
    lengths = sorted(len(d["history"]) for d in documents)
    assert finding.evidence["length_measure"] == "p99"
    assert finding.evidence["length_now"] == pytest.approx(lengths[59], abs=1)  # the p99 of 60 arrays: the longest
    assert finding.evidence["length_in_5_years"] == pytest.approx(lengths[59] + 60 * 1.75, abs=3)


@pytest.mark.parametrize("years, severity", [(0.5, "high"), (2.0, "high"), (2.1, "medium"), (10.0, "medium"),
                                             (10.1, "low"), (58_622, "low")])
def test_dm102_severity_follows_the_horizon(years, severity):
    from nosql_advisor.rules.scale import horizon_severity

    assert horizon_severity(years, rule("DM102").thresholds) == severity


def test_dm102_horizon_thresholds_come_from_the_config(tmp_path):
    from nosql_advisor.rules import RuleConfig

    landscape = landscape_of(tmp_path, {"tracks": track(6_000)})
    strict = RuleConfig(thresholds={"DM102": {"high_years": 20}})
    assert [f.severity for f in run_rules(landscape, strict) if f.rule == "DM102"] == ["high"]


# -- DM102 for arrays reached through objects: a track nested under a field ----------------------

def trips(points_of_age, count: int = 60, every_nth_without_route: int = 0) -> list[dict]:
    """Trips created a day apart over `count` days, each `route` a GeoJSON LineString holding
    `points_of_age(age_in_days)` points (review case g1b: older trips longer); every nth trip
    has `route: None`, so the column mixes objects and nulls."""
    import datetime

    newest = datetime.datetime(2025, 6, 1)
    documents = []
    for i in range(count):
        age_days = count - 1 - i
        created = newest - datetime.timedelta(days=age_days)
        route = {"type": "LineString", "coordinates": [[i / 1e3, j / 1e3] for j in range(points_of_age(age_days))]}
        if every_nth_without_route and i % every_nth_without_route == 0:
            route = None
        documents.append({"_id": bson.ObjectId.from_datetime(created), "name": f"trip {i}", "route": route})
    return documents


def test_dm102_a_growing_track_nested_under_a_field_is_flagged_with_its_own_rate(tmp_path):
    from statistics import linear_regression

    documents = trips(lambda age: 2 + 15 * age, every_nth_without_route=5)  # 15 points a day older
    landscape = landscape_of(tmp_path, {"trips": documents})
    [finding] = [f for f in run_rules(landscape) if f.rule == "DM102"]
    with_route = [d for d in documents if d["route"]]
    lengths = [len(d["route"]["coordinates"]) for d in with_route]
    sizes = [len(bson.encode(d)) for d in with_route]
    assert finding.path == "route.coordinates"
    assert finding.evidence["documents"] == len(with_route)  # the nulls are not arrays of length 0
    assert finding.evidence["per_month"] == pytest.approx(15 * 30.44, rel=0.01)
    # sizes lined up with their own arrays (not shifted by the null routes): the input's own slope
    assert finding.evidence["bytes_per_element"] == pytest.approx(linear_regression(lengths, sizes).slope, rel=0.01)
    assert found(landscape, "DM101") == []  # still a geometry, not an unbounded list


def test_dm102_a_plain_array_nested_two_objects_deep_is_flagged(tmp_path):
    """Review case g1d: `x.tags` grew with age and got DM101 but no DM102; two levels down too."""
    import datetime

    newest = datetime.datetime(2025, 6, 1)
    documents = [{"_id": bson.ObjectId.from_datetime(newest - datetime.timedelta(days=age)),
                  "x": {"tags": list(range(10 * age)), "meta": {"seen": [age] * (3 * age)}}}
                 for age in range(60)]
    landscape = landscape_of(tmp_path, {"t": documents})
    growing_paths = {f.path: f.evidence["per_month"] for f in run_rules(landscape) if f.rule == "DM102"}
    assert set(growing_paths) == {"x.tags", "x.meta.seen"}
    assert growing_paths["x.tags"] == pytest.approx(10 * 30.44, rel=0.01)
    assert growing_paths["x.meta.seen"] == pytest.approx(3 * 30.44, rel=0.01)


@pytest.mark.parametrize("label, points_of_age", [
    ("same length at every age", lambda age: 500),
    ("lengths that do not follow age", lambda age: 2 + (age * 37) % 400),
])
def test_dm102_a_static_nested_geometry_stays_silent(tmp_path, label, points_of_age):
    landscape = landscape_of(tmp_path, {"trips": trips(points_of_age)})
    assert found(landscape, "DM102") == [] and found(landscape, "DM101") == []


def test_arrays_inside_arrays_of_objects_are_not_measured_for_growth(tmp_path):
    """One document holds many `items`: a regression per document is not defined for `items.tags`."""
    import datetime

    newest = datetime.datetime(2025, 6, 1)
    documents = [{"_id": bson.ObjectId.from_datetime(newest - datetime.timedelta(days=age)),
                  "items": [{"tags": list(range(10 * age))}]} for age in range(60)]
    [collection] = landscape_of(tmp_path, {"orders": documents}).collections
    assert collection.shape.field("items").array.growth is None  # one item each: items does not grow
    assert collection.shape.field("items.tags").array.growth is None


def test_nested_growth_merged_from_two_builders_equals_one_builder():
    """Worker processes each build part of a collection; their nested growth sums add up."""
    from nosql_advisor.shape.infer import ShapeBuilder

    documents = trips(lambda age: 2 + 15 * age, every_nth_without_route=5)
    sizes = [len(bson.encode(d)) for d in documents]
    whole, first, second = ShapeBuilder("db.trips"), ShapeBuilder("db.trips"), ShapeBuilder("db.trips")
    for index, (document, size) in enumerate(zip(documents, sizes)):
        whole.add(document, size)
        (first if index % 2 else second).add(document, size)
    first.merge(second)
    merged, alone = first.finish(), whole.finish()
    assert merged.field("route.coordinates").array.growth == alone.field("route.coordinates").array.growth
    assert alone.field("route.coordinates").array.growth["documents"] == 48
