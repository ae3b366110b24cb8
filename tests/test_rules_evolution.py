"""Schema evolution (DM508): a version field's shapes, and fields only older documents hold."""

from __future__ import annotations

import datetime
import random

import bson
from bson import ObjectId, json_util

from nosql_advisor.rules import run_rules
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.shape import ShapeBuilder

START = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)


def scan(tmp_path, documents: list[dict], name: str = "customers"):
    folder = tmp_path / "dump" / "shop"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
    (folder / f"{name}.metadata.json").write_text(json_util.dumps({"indexes": [], "options": {}}))
    return scan_sources([str(tmp_path / "dump")], ScanOptions())


def dm508(landscape) -> list:
    return [f for f in run_rules(landscape) if f.rule == "DM508"]


def object_id(moment: datetime.datetime, number: int) -> ObjectId:
    return ObjectId(int(moment.timestamp()).to_bytes(4, "big") + number.to_bytes(8, "big"))


def customers(n: int = 500, split: int = 300, versioned_old: bool = True) -> list[dict]:
    """Version 1 (the first `split`) holds `phone`, version 2 `phones`; every one a name."""
    documents = []
    for number in range(n):
        old = number < split
        document = {"_id": number, "name": f"c{number}"}
        if old:
            document["phone"] = "555-0100"
        else:
            document["phones"] = ["555-0100"]
        if not old or versioned_old:
            document["schema_version"] = 1 if old else 2
        documents.append(document)
    return documents


def test_a_version_field_splits_the_shape_and_names_what_differs(tmp_path):
    [finding] = dm508(scan(tmp_path, customers()))
    assert (finding.path, finding.evidence["version_field"]) == ("schema_version", "schema_version")
    assert [(v["value"], v["documents"]) for v in finding.evidence["versions"]] == [(1, 300), (2, 200)]
    assert [(d["path"], d["in"], d["not_in"]) for d in finding.evidence["differences"]] == [
        ("phone", ["1"], ["2"]), ("phones", ["2"], ["1"])]
    assert "'phone' in 1 but not 2" in finding.message


def test_documents_without_the_version_field_are_a_version_of_their_own(tmp_path):
    [finding] = dm508(scan(tmp_path, customers(versioned_old=False)))
    assert [(v["value"], v["documents"]) for v in finding.evidence["versions"]] == [(None, 300), (2, 200)]
    assert ("phone", ["(none)"], ["2"]) in [(d["path"], d["in"], d["not_in"]) for d in finding.evidence["differences"]]


def test_versions_holding_the_same_fields_raise_nothing(tmp_path):
    documents = [{"_id": n, "name": "c", "schema_version": 1 + n % 2} for n in range(100)]
    assert dm508(scan(tmp_path, documents)) == []


def aged(n: int = 1000, removed_after: int | None = 310, optional: float = 0.0, seed: int = 5) -> list[dict]:
    """Customers created a day apart (ObjectId time); the first `removed_after` hold
    legacy_phone; a share `optional` of every age holds nickname."""
    rng = random.Random(seed)
    documents = []
    for number in range(n):
        created = START + datetime.timedelta(hours=8 * number)
        document = {"_id": object_id(created, number), "name": f"c{number}"}
        if removed_after is not None and number < removed_after:
            document["legacy_phone"] = "555-0100"
        if rng.random() < optional:
            document["nickname"] = "n"
        documents.append(document)
    return documents


def test_a_field_only_older_documents_hold_is_a_removed_field(tmp_path):
    documents = aged()
    [finding] = dm508(scan(tmp_path, documents))
    last = START + datetime.timedelta(hours=8 * 309)  # the newest document holding legacy_phone
    since = sum(d["_id"].generation_time.date() > last.date() for d in documents)  # created on later days
    assert finding.path == "legacy_phone"
    assert (finding.evidence["documents"], finding.evidence["created_since"]) == (310, since)
    assert finding.message.startswith(f"'legacy_phone' is no longer written: last seen in documents created "
                                      f"{last:%Y-%m}; 310 older documents still hold it")


def test_a_field_optional_at_every_age_is_not_a_removed_field(tmp_path):
    assert dm508(scan(tmp_path, aged(removed_after=None, optional=0.3))) == []


def test_a_date_set_later_in_a_documents_life_is_not_a_removed_field(tmp_path):
    """Orders are delivered ten days after they are placed: the newest have no delivered_at yet."""
    documents = []
    for number in range(300):
        placed = START + datetime.timedelta(hours=8 * number)
        document = {"_id": object_id(placed, number), "total": 1}
        if number < 270:
            document["delivered_at"] = placed + datetime.timedelta(days=10)
        documents.append(document)
    assert dm508(scan(tmp_path, documents, "orders")) == []


def test_created_at_dates_documents_whose_ids_are_not_objectids(tmp_path):
    documents = [{"_id": n, "created_at": START + datetime.timedelta(hours=8 * n), **({"fax": "1"} if n < 400 else {})}
                 for n in range(1000)]
    [finding] = dm508(scan(tmp_path, documents))
    assert (finding.path, finding.evidence["dated_by"]) == ("fax", {"created_at": 1000})


def test_two_builders_merged_count_what_one_pass_counts():
    documents = aged(optional=0.3) + customers()

    def built(part):
        builder = ShapeBuilder("shop.customers")
        for document in part:
            builder.add(document)
        return builder

    left, right = built(documents[::2]), built(list(reversed(documents[1::2])))
    left.merge(right)
    assert left.finish().evolution == built(documents).finish().evolution


# review A, item 3: `version` read as a schema version when it is not


def test_a_generic_version_of_small_ints_from_one_splits_the_shape(tmp_path):
    documents = [{"_id": n, "version": 1 + n % 2, **({"phone": "1"} if n % 2 == 0 else {"phones": ["1"]})}
                 for n in range(100)]
    [finding] = dm508(scan(tmp_path, documents))
    assert [(v["value"], v["documents"]) for v in finding.evidence["versions"]] == [(1, 50), (2, 50)]


def test_v1_style_version_strings_split_the_shape(tmp_path):
    documents = [{"_id": n, "version": f"v{1 + n % 2}", **({"phone": "1"} if n % 2 == 0 else {"phones": ["1"]})}
                 for n in range(100)]
    [finding] = dm508(scan(tmp_path, documents))
    assert [v["value"] for v in finding.evidence["versions"]] == ["v1", "v2"]


def spring_orders(with_class: bool = True) -> list[dict]:
    """Review case c3f: Spring Data's optimistic-lock `version` (0 on insert, +1 per save);
    approved_by arrives with the third edit."""
    rng = random.Random(3)
    documents = []
    for number in range(200):
        edits = rng.randint(0, 6)
        document = {"_id": number, **({"_class": "com.acme.Order"} if with_class else {}), "version": edits + 1 - with_class}
        if edits >= 1:
            document["submitted_by"] = "u"
        if edits >= 3:
            document["approved_by"] = "m"
        documents.append(document)
    return documents


def test_an_optimistic_lock_counter_beside_spring_class_is_not_a_schema_version(tmp_path):
    """Values 1..7 here, so only `_class` tells the counter apart."""
    assert dm508(scan(tmp_path, spring_orders(with_class=True))) == []


def test_a_version_counted_from_zero_is_not_a_schema_version(tmp_path):
    documents = [{**d, "version": d["version"] - 1} for d in spring_orders(with_class=False)]
    assert {d["version"] for d in documents} == set(range(7))
    assert dm508(scan(tmp_path, documents)) == []


def test_semver_product_versions_beside_unversioned_kinds_raise_nothing(tmp_path):
    """Review case c3d: software items carry their release "1.2.3", books carry isbn/pages."""
    rng = random.Random(4)
    documents = [{"_id": n, "kind": "software", "version": rng.choice(["1.0.0", "1.2.3", "2.0.1"]), "license": "MIT"}
                 if rng.random() < 0.5 else {"_id": n, "kind": "book", "isbn": "9781234567897", "pages": 100}
                 for n in range(300)]
    assert dm508(scan(tmp_path, documents)) == []


def test_documents_without_a_generic_version_are_another_kind_not_a_version(tmp_path):
    """Numbered `version` on software only: books lacking it are not version "(none)"."""
    documents = [{"_id": n, "kind": "software", "version": 1, "license": "MIT"} if n % 2
                 else {"_id": n, "kind": "book", "isbn": "9781234567897"} for n in range(100)]
    assert dm508(scan(tmp_path, documents)) == []


# review A, item 8: a field set later in a document's life is not "no longer written"


def orders(n: int = 600) -> list[dict]:
    """Orders created eight hours apart (ObjectId time)."""
    return [{"_id": object_id(START + datetime.timedelta(hours=8 * number), number), "total": 5} for number in range(n)]


def test_a_flag_set_by_an_archival_job_on_the_oldest_is_not_a_removed_field(tmp_path):
    """Review case c3e: archived: true on the oldest 60%."""
    documents = [{**d, **({"archived": True} if number < 360 else {})} for number, d in enumerate(orders())]
    assert dm508(scan(tmp_path, documents, "orders")) == []


def test_a_bool_field_set_on_the_oldest_is_not_a_removed_field(tmp_path):
    documents = [{**d, **({"settled": True} if number < 360 else {})} for number, d in enumerate(orders())]
    assert dm508(scan(tmp_path, documents, "orders")) == []


def test_a_field_whose_holders_were_updated_after_the_cutoff_is_not_a_removed_field(tmp_path):
    """A rating given on orders up to the last 20%: those orders were updated a year after the
    newest creation holding a rating, so the field is still being written."""
    rng = random.Random(8)
    documents = []
    for number, document in enumerate(orders()):
        created = document["_id"].generation_time
        if number < 480 and rng.random() < 0.7:
            document.update(rating=rng.randint(1, 5), updated_at=created + datetime.timedelta(days=365))
        documents.append(document)
    assert dm508(scan(tmp_path, documents, "orders")) == []


def rated(rising: bool) -> list[dict]:
    """Ratings on the first 480 orders: held by 90% of the oldest down to 10% of the newest of
    them when `rising` (set by age), by a flat 50% otherwise (a removed field)."""
    rng = random.Random(9)
    documents = []
    for number, document in enumerate(orders()):
        share = 0.9 - 0.8 * number / 480 if rising else 0.5
        if number < 480 and rng.random() < share:
            document["rating"] = rng.randint(1, 5)
        documents.append(document)
    return documents


def test_a_field_held_more_often_the_older_the_document_is_not_a_removed_field(tmp_path):
    assert dm508(scan(tmp_path, rated(rising=True), "orders")) == []


def test_a_field_held_at_a_flat_rate_then_never_is_a_removed_field(tmp_path):
    """The positive side of the age test: the same ratings at one rate at every age still fire."""
    [finding] = dm508(scan(tmp_path, rated(rising=False), "orders"))
    assert finding.path == "rating"
    assert abs(finding.evidence["holders_earlier_by_standard_errors"]) < 3


def test_a_bool_holding_both_values_can_still_be_a_removed_field(tmp_path):
    """The demo's preferences.newsletter (true/false) dropped by version 2 stays flagged."""
    documents = [{**d, **({"newsletter": number % 2 == 0} if number < 360 else {})} for number, d in enumerate(orders())]
    [finding] = dm508(scan(tmp_path, documents, "orders"))
    assert (finding.path, finding.evidence["documents"]) == ("newsletter", 360)


def test_a_field_the_newest_schema_version_dropped_is_removed_though_its_holders_were_updated(tmp_path):
    """The demo's preferences: version 1 (the oldest 360) wrote lang, version 2 writes language;
    old documents are still edited (updated_at up to a year on), which alone would read as
    "set later"."""
    documents = []
    for number, document in enumerate(orders()):
        created = document["_id"].generation_time
        old = number < 360
        document.update({"schema_version": 1, "lang": "en"} if old else {"schema_version": 2, "language": "en"},
                        updated_at=created + datetime.timedelta(days=365))
        documents.append(document)
    assert "lang" in [f.path for f in dm508(scan(tmp_path, documents, "orders"))]
