"""Decisions read the bound, not the point: `required` from the low end of a field's 95% interval,
an `enum` only when Good–Turing's chance of an unseen value is small, and the findings driven by
a share (DM302, DM505, DM503) carrying that share's interval.

The expected bounds are written out here with the Wilson formula's closed form at 100%
(n / (n + z²)), not read back from the code under test."""

from __future__ import annotations

import json

import pytest
from pymongo import MongoClient

from helpers import run_in_process, scanned_dump
from nosql_advisor.confidence import Z95, add_intervals
from nosql_advisor.rules import RuleConfig
from nosql_advisor.rules.tenancy import partial_tenant_key
from nosql_advisor.scan import Collection, Landscape, ScanOptions, scan_sources
from nosql_advisor.schema.drift import drift_findings
from nosql_advisor.schema.generate import GenerateOptions, generate_validator
from nosql_advisor.schema.load import DeclaredSchema
from nosql_advisor.schema.validate import ValidationResult
from nosql_advisor.shape.infer import ShapeBuilder, infer_shape
from nosql_advisor.sources.base import CollectionInfo, Selection


def shape_of(documents: list[dict], method: str, estimated: int | None = None, enum_limit: int = 0,
             namespace: str = "app.things"):
    """The shape of `documents` read as `method` says (a sample of a collection of `estimated`
    documents, or every document), with its intervals, as a scan leaves it."""
    shape = infer_shape(((d, None) for d in documents), namespace, estimated, enum_limit=enum_limit)
    shape.method = method
    add_intervals(shape)
    return shape


def validator(shape, **options) -> dict:
    return generate_validator(shape, GenerateOptions(**options))["$jsonSchema"]


def all_bound(n: int) -> float:
    """The 95% Wilson lower bound of n of n (no population correction): n / (n + z²)."""
    return n / (n + Z95 * Z95)


# -- required: the lower bound ------------------------------------------------------------------

def test_990_of_1000_sampled_is_above_a_0_99_threshold_by_its_point_but_not_by_its_bound():
    documents = [{"_id": i, "all": 1, **({"most": 1} if i < 990 else {})} for i in range(1000)]
    schema = validator(shape_of(documents, "sample"), required_threshold=0.99)
    # the point of `most` is 0.990 >= 0.99; its lower bound is below, so it is not required
    assert "most" not in schema["required"]
    assert "all" in schema["required"]  # 1,000 of 1,000: bound 0.9962 >= 0.99
    assert all_bound(1000) >= 0.99


def test_by_default_a_sample_of_1000_holding_a_field_in_all_makes_it_required_and_of_100_does_not():
    big = validator(shape_of([{"_id": i, "a": 1} for i in range(1000)], "sample"))
    small_schema = validator(shape_of([{"_id": i, "a": 1} for i in range(100)], "sample"))
    assert big["required"] == ["_id", "a"]
    assert small_schema["required"] == ["_id"]  # every document has an _id, sampled or not
    expected = f"{int(all_bound(100) * 1000) / 10:.1f}%"  # 96.3%
    assert small_schema["properties"]["a"]["description"] == (
        f"not required: present in all 100 sampled documents; 95% lower bound {expected} < 99%")


def test_a_full_read_of_999_of_1000_is_not_required_by_default_and_1000_of_1000_is():
    documents = [{"_id": i, "all": 1, **({"most": 1} if i < 999 else {})} for i in range(1000)]
    schema = validator(shape_of(documents, "full"))
    assert schema["required"] == ["_id", "all"]
    assert "description" not in schema["properties"]["most"]  # not held by all: nothing to explain
    # an explicit threshold is the bound alone: a full read's bound is its share, 0.999
    assert validator(shape_of(documents, "full"), required_threshold=0.99)["required"] == ["_id", "all", "most"]


def test_a_nested_field_is_weighed_on_its_parent_objects_and_says_so():
    documents = [{"_id": i, "items": [{"sku": "a"}, {"sku": "b"}]} for i in range(60)]
    items = validator(shape_of(documents, "sample", estimated=1_000_000))["properties"]["items"]["items"]
    # 120 `items` objects all hold sku: bound 120 / (120 + z²) = 96.9% < 99%
    assert "required" not in items
    assert items["properties"]["sku"]["description"].startswith(
        "not required: present in all 120 sampled `items` objects")


def test_the_population_correction_counts_a_sample_that_is_most_of_the_collection():
    # 1,000 of 1,050 documents: nearly a full read, so the bound is well above the 0.9962 of an
    # unlimited population
    shape = shape_of([{"_id": i, "a": 1} for i in range(1000)], "sample", estimated=1050)
    assert shape.field("a").probability_ci[0] > all_bound(1000)
    assert validator(shape, required_threshold=0.998)["required"] == ["_id", "a"]
    assert validator(shape_of([{"_id": i, "a": 1} for i in range(1000)], "sample"),
                     required_threshold=0.998)["required"] == ["_id"]


def test_validators_cli_from_a_file_sample_leaves_out_what_the_bound_does_not_support(tmp_path):
    scanned_dump(tmp_path, {"things": [{"_id": i, "a": i} for i in range(300)]})
    done = run_in_process("validators", "dump", "-n", "100", "--seed", "3", "--out", "v", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    schema = json.loads((tmp_path / "v" / "app.things.json").read_text())["$jsonSchema"]
    assert schema["required"] == ["_id"]
    assert schema["properties"]["a"]["description"].startswith("not required: present in all 100 sampled documents")
    done = run_in_process("validators", "dump", "-n", "100", "--seed", "3", "--required-threshold", "0.95",
                          "--out", "w", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "w" / "app.things.json").read_text())["$jsonSchema"]["required"] == ["_id", "a"]


@pytest.mark.live
def test_a_validator_from_a_live_sample_accepts_the_document_the_sample_missed(mongo_uri):
    """400 documents, one without `a`; a $sample of 100 most likely misses it. The point rule
    ("in all 100") would require `a` and the server would then reject that document."""
    client = MongoClient(mongo_uri)
    database = client["bound_decisions_live"]
    client.drop_database(database.name)
    database["things"].insert_many([{"_id": i, **({"a": i} if i else {})} for i in range(400)])
    selection = Selection(databases=(database.name,), collections=("things",), sample_size=100)
    [collection] = scan_sources([mongo_uri], ScanOptions(selection=selection)).collections
    shape = collection.shape
    assert (shape.method, shape.sampled) == ("sample", 100)
    schema = validator(shape)
    assert "a" not in schema.get("required", [])
    if shape.field("a").count == 100:  # the sample missed the document without `a` (3 runs in 4)
        assert schema["properties"]["a"]["description"].startswith("not required: present in all 100")
    checked = database.create_collection("things_checked", validator={"$jsonSchema": schema},
                                         validationAction="error")
    checked.insert_many(list(database["things"].find()))  # raises on any rejected document
    assert checked.count_documents({}) == 400
    client.drop_database(database.name)


# -- enum: Good–Turing ----------------------------------------------------------------------------

def statuses(common: int, singletons: int) -> list[dict]:
    """`common` documents spread over four repeated values, then `singletons` values seen once."""
    values = [("new", "paid", "sent", "done")[i % 4] for i in range(common)]
    values += [f"odd-{i}" for i in range(singletons)]
    return [{"_id": i, "status": v} for i, v in enumerate(values)]


def test_good_turing_counts_the_values_read_once():
    field = shape_of(statuses(247, 3), "sample", enum_limit=12).field("status")
    assert (field.singletons, field.unseen_chance) == (3, 3 / 250)
    tags = shape_of([{"_id": i, "tags": ["x", "y"] + (["z"] if i == 0 else [])} for i in range(50)],
                    "sample", enum_limit=12).field("tags")
    assert (tags.singletons, tags.unseen_chance) == (1, pytest.approx(1 / 101, abs=1e-6))  # elements are the values
    assert shape_of(statuses(247, 3), "sample").field("status").singletons is None  # not asked: not counted


def test_an_enum_is_refused_when_many_values_were_seen_once_and_says_the_chance():
    status = validator(shape_of(statuses(247, 3), "sample", enum_limit=12), enums=True)["properties"]["status"]
    assert "enum" not in status
    assert status["description"].startswith(
        "7 values, 3 seen once in 250: chance of an unseen value 1.2%, too high for an enum")


def test_an_enum_is_written_when_no_value_was_seen_once_and_says_the_chance():
    status = validator(shape_of(statuses(250, 0), "sample", enum_limit=12), enums=True)["properties"]["status"]
    assert status["enum"] == ["done", "new", "paid", "sent"]
    assert status["description"].startswith("closed set of 4 values; chance of an unseen value 0.0% (Good–Turing)")


def test_a_chance_of_exactly_one_percent_is_still_an_enum_and_just_over_is_not():
    def status(common: int, singletons: int) -> dict:
        shape = shape_of(statuses(common, singletons), "sample", enum_limit=12)
        return validator(shape, enums=True)["properties"]["status"]

    assert "enum" in status(99, 1)  # 1 of 100 seen once: 1.0%
    assert "enum" not in status(98, 2)  # 2.0%


def test_a_full_read_has_the_whole_set_so_values_seen_once_still_make_an_enum():
    shape = shape_of(statuses(247, 3), "full", enum_limit=12)
    status = validator(shape, enums=True)["properties"]["status"]
    assert len(status["enum"]) == 7 and status["description"] == "closed set of 7 values: every document was read"
    assert shape.field("status").unseen_chance == 0.0  # report.json says the same


def test_string_counts_merge_across_builders_as_one_builder_counts():
    documents = statuses(247, 3)
    one, left, right = (ShapeBuilder("a.b", enum_limit=12) for _ in range(3))
    for number, document in enumerate(documents):
        one.add(document)
        (left if number % 2 else right).add(document)
    left.merge(right)
    whole, merged = one.finish().field("status"), left.finish().field("status")
    assert (merged.singletons, merged.unseen_chance) == (whole.singletons, whole.unseen_chance) == (3, 3 / 250)


def test_more_values_than_the_enum_limit_are_not_counted():
    field = shape_of(statuses(100, 20), "sample", enum_limit=12).field("status")
    assert (field.string_values, field.singletons, field.unseen_chance) == (None, None, None)


# -- findings driven by a share carry its interval ------------------------------------------------

def collection(shape) -> Collection:
    return Collection(CollectionInfo(shape.namespace, "test", "dump"), shape)


def dm302(sampled: int, missing: int, method: str = "sample"):
    carts = [{"_id": i, **({"tenant_id": f"t{i % 3}"} if i >= missing else {})} for i in range(sampled)]
    orders = [{"_id": i, "tenant_id": f"t{i % 3}"} for i in range(20)]
    landscape = Landscape(collections=[collection(shape_of(carts, method, 1_000_000, namespace="app.carts")),
                                       collection(shape_of(orders, "full", namespace="app.orders"))])
    [finding] = partial_tenant_key(landscape, {}, RuleConfig())
    return finding


def inside(evidence: dict) -> bool:
    low, high = evidence["ci"]
    return low < evidence["share"] < high


def test_dm302_reports_the_missing_share_with_its_interval_narrower_from_a_larger_sample():
    small, large = dm302(100, 5), dm302(1000, 50)
    for finding in small, large:
        assert finding.evidence["missing_share"]["share"] == 0.05 and inside(finding.evidence["missing_share"])
        assert finding.evidence["share_missing"] == 0.05  # the key the baseline and reports read stays
    width = [f.evidence["missing_share"]["ci"][1] - f.evidence["missing_share"]["ci"][0] for f in (small, large)]
    assert width[1] < width[0]
    low, high = large.evidence["missing_share"]["ci"]
    assert f"'tenant_id' is missing in 5.0% ({low * 100:.1f}–{high * 100:.1f}%) of sampled documents (50 of 1,000)" \
        in large.message


def test_dm302_on_a_full_read_reports_the_share_as_exact():
    finding = dm302(100, 5, method="full")
    assert finding.evidence["missing_share"] == {"share": 0.05, "exact": True}
    assert "missing in 5.0% (exact) of documents (every document read)" in finding.message


def dm505(n: int):
    documents = [{"_id": i, "qty": str(i) if i % 10 == 0 else i} for i in range(n)]
    [finding] = [f for f in drift_findings(shape_of(documents, "sample", 1_000_000), None, None, None, False)
                 if f.rule == "DM505"]
    return finding


def test_dm505_reports_the_minority_type_share_with_its_interval_narrower_from_a_larger_sample():
    small, large = dm505(100), dm505(1000)
    for finding in small, large:
        assert finding.evidence["minority_share"]["share"] == 0.1 and inside(finding.evidence["minority_share"])
        values = sum(finding.evidence["types"].values())
        assert finding.evidence["types"] == {"int": values * 9 // 10, "string": values // 10}
    widths = [f.evidence["minority_share"]["ci"][1] - f.evidence["minority_share"]["ci"][0] for f in (small, large)]
    assert widths[1] < widths[0]
    assert "(types other than the commonest: 10.0% (" in large.message


def dm503(checked: int, failed: int, method: str = "sample"):
    shape = shape_of([{"_id": i} for i in range(checked)], method, 1_000_000)
    declared = DeclaredSchema(shape.namespace, {"required": ["sku"]}, "schemas/app/things.json")
    [finding] = [f for f in drift_findings(shape, None, declared, ValidationResult(declared.origin, checked, failed),
                                           False) if f.rule == "DM503"]
    return finding


def test_dm503_reports_the_failing_share_with_its_interval_narrower_from_a_larger_sample():
    small, large = dm503(200, 20), dm503(2000, 200)
    for finding in small, large:
        assert finding.evidence["failing_share"]["share"] == 0.1 and inside(finding.evidence["failing_share"])
        assert finding.evidence["share"] == 0.1  # kept
    widths = [f.evidence["failing_share"]["ci"][1] - f.evidence["failing_share"]["ci"][0] for f in (small, large)]
    assert widths[1] < widths[0]
    assert large.message.startswith("200 of 2,000 sampled documents fail the declared schema")
    assert dm503(200, 20, method="full").evidence["failing_share"] == {"share": 0.1, "exact": True}
