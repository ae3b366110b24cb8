"""The findings a careful reviewer makes on the real corpus (its README lists the notable facts),
with evidence figures checked against an independent recount of the files (plain gzip + json,
json_util only to read `$`-wrapped values): nothing of the code under test counts here."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest
from bson import json_util


pytestmark = pytest.mark.corpus

ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "datasets"


def read(name: str) -> list[dict]:
    with gzip.open(ROOT / name, "rt", encoding="utf-8") as handle:
        return [json_util.loads(line) for line in handle if line.strip()]


def kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int" if -(2**31) <= value < 2**31 else "long"
    return {float: "double", str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def types_at(documents: list[dict], *path: str) -> dict[str, int]:
    counts: Counter = Counter()
    for document in documents:
        value = document
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            counts[kind(value)] += 1
    return dict(counts)


@pytest.fixture(scope="module")
def findings(corpus_advice) -> dict[tuple[str, str, str | None], object]:
    """The advice on every dataset folder (conftest's one scan of the corpus)."""
    return {(f.rule, f.namespace, f.path): f for f in corpus_advice.findings}


def test_mflix_comments_copy_the_commenters_name_from_users(findings):
    users = read("sample_mflix/users.json.gz")
    comments = read("sample_mflix/comments.json.gz")
    names = {u["name"] for u in users}
    share = sum(c["name"] in names for c in comments) / len(comments)  # README: 50,145 of 50,303
    finding = findings[("DM201", "sample_mflix.comments", "name")]
    assert finding.evidence["copy_of"] == "sample_mflix.users.name"
    assert finding.evidence["joined_through"] == ["email -> sample_mflix.users.email"]
    assert finding.evidence["containment"] == pytest.approx(share, abs=0.01)  # a 2,000-comment row sample
    assert finding.evidence["distinct_estimate"] == len({c["name"] for c in comments})


def test_no_copy_is_claimed_across_databases(findings):
    assert not [key for key in findings if key[0] in ("DM201", "DM202") and key[1] == "sample_mflix.theaters"]


def test_customer_tiers_use_random_ids_as_field_names(findings):
    customers = read("sample_analytics/customers.json.gz")
    keys = {key for c in customers for key in c.get("tier_and_details", {})}  # README: 456
    evidence = findings[("DM105", "sample_analytics.customers", "tier_and_details")].evidence
    assert evidence["distinct_keys"] == len(keys)
    assert evidence["key_kind"] == "hex id" and evidence["key_kind_share"] == 1.0


@pytest.mark.parametrize("namespace, file, path", [
    ("sample_geospatial.shipwrecks", "sample_geospatial/shipwrecks.json.gz", ("depth",)),
    ("ozlerhakan_mongodb-json-files.restaurant", "ozlerhakan_mongodb-json-files/restaurant.json.gz", ("rating",)),
    ("ozlerhakan_mongodb-json-files.books", "ozlerhakan_mongodb-json-files/books.json.gz", ("_id",)),
    ("ozlerhakan_mongodb-json-files.products", "ozlerhakan_mongodb-json-files/products.json.gz", ("type",)),
    ("sample_mflix.movies_subset", "sample_mflix/movies_subset.json.gz", ("imdb", "rating")),
])
def test_polymorphic_fields_are_type_drift_with_their_counts(findings, namespace, file, path):
    expected = {name.replace("ObjectId", "objectId"): count for name, count in types_at(read(file), *path).items()}
    assert len(expected) > 1
    assert findings[("DM505", namespace, ".".join(path))].evidence["types"] == expected


def test_album_image_lists_are_large_arrays_with_their_lengths(findings):
    lengths = [len(a["images"]) for a in read("ozlerhakan_mongodb-json-files/palbum_albums.json.gz")]
    evidence = findings[("DM101", "ozlerhakan_mongodb-json-files.palbum_albums", "images")].evidence
    assert (evidence["lengths"]["max"], evidence["arrays"]) == (max(lengths), len(lengths))  # README: max 120
    assert evidence["lengths"]["mean"] == pytest.approx(sum(lengths) / len(lengths), abs=0.001)


def test_customer_emails_embedded_in_sales_are_personal_data_in_clear(findings):
    sales = read("sample_supplies/sales.json.gz")
    evidence = findings[("DM701", "sample_supplies.sales", "customer.email")].evidence
    assert evidence["count"] == sum("email" in s.get("customer", {}) for s in sales)
    assert evidence["detectors"]["email"] == evidence["examined"]  # every examined value is an email


def test_the_session_token_is_a_secret(findings):
    sessions = read("sample_mflix/sessions.json.gz")
    assert all(s["jwt"].count(".") == 2 for s in sessions)
    assert findings[("DM702", "sample_mflix.sessions", "jwt")].evidence["detectors"] == {"jwt": len(sessions)}


def test_every_finding_carries_its_evidence(findings):
    assert findings and all(f.evidence and f.recommendation for f in findings.values())


def longest_array(value) -> int:
    """The longest array anywhere inside `value` (nested arrays included)."""
    if not isinstance(value, list):
        return 0
    return max([len(value), *map(longest_array, value)])


def test_neighborhood_outlines_are_geojson_shapes_not_unbounded_arrays(findings):
    neighborhoods = read("sample_restaurants/neighborhoods.json.gz")
    assert {n["geometry"]["type"] for n in neighborhoods} <= {"Polygon", "MultiPolygon"}
    assert max(longest_array(n["geometry"]["coordinates"]) for n in neighborhoods) == 4907  # past DM101's 1,000
    assert ("DM101", "sample_restaurants.neighborhoods", "geometry.coordinates") not in findings


def test_products_types_written_in_one_bulk_load_are_a_mix_not_a_change(findings):
    products = read("ozlerhakan_mongodb-json-files/products.json.gz")
    stamps = {p["_id"].generation_time for p in products if hasattr(p["_id"], "generation_time")}
    assert len(stamps) == 1  # every ObjectId _id of the file was made in one second
    price = findings[("DM505", "ozlerhakan_mongodb-json-files.products", "price")]
    assert price.evidence["timeline"] == "mixed" and "changed" not in price.message
    assert price.evidence["types"] == types_at(products, "price")
