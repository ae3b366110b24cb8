"""Typed values stored as strings (DM506): dates, numbers, booleans and ObjectIds held as text
are flagged with their form and share; real dates, zip codes and free text are not."""

from __future__ import annotations

import datetime

import bson

from nosql_advisor.rules import run_rules
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.shape.detect import detect

START = datetime.datetime(2025, 3, 1, 10, 0, tzinfo=datetime.timezone.utc)


def landscape_of(tmp_path, documents: list[dict]):
    (tmp_path / "app").mkdir(parents=True, exist_ok=True)
    (tmp_path / "app" / "orders.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
    return scan_sources([str(tmp_path / "app")], ScanOptions())


def typed(tmp_path, documents: list[dict]) -> dict[str, object]:
    return {f.path: f for f in run_rules(landscape_of(tmp_path, documents)) if f.rule == "DM506"}


def days(n: int) -> list[datetime.datetime]:
    return [START + datetime.timedelta(days=i, minutes=7 * i) for i in range(n)]


def test_iso_dates_held_as_strings_are_flagged_with_their_form_and_share(tmp_path):
    documents = [{"_id": i, "placed": d.strftime("%Y-%m-%d"), "paid": d.strftime("%Y-%m-%dT%H:%M:%SZ")}
                 for i, d in enumerate(days(40))]
    found = typed(tmp_path, documents)
    assert sorted(found) == ["paid", "placed"]
    placed = found["placed"]
    assert (placed.evidence["form"], placed.evidence["matched"], placed.evidence["examined"]) == ("date_iso", 40, 40)
    assert placed.evidence["share"] == 1.0 and placed.evidence["should_be"] == "date"
    assert found["paid"].evidence["form"] == "datetime_iso"
    text = str(placed.evidence) + placed.message + found["paid"].message
    assert "2025-03-01" not in text and "2025-03" not in text  # the form's pattern, never a value


def test_real_dates_and_free_text_are_clean(tmp_path):
    documents = [{"_id": i, "placed": d, "note": f"call back after lunch, ticket {i}"} for i, d in enumerate(days(40))]
    assert typed(tmp_path, documents) == {}


def test_zip_codes_with_leading_zeros_are_codes_not_numbers(tmp_path):
    zips = ["02134"] + [str(10001 + 3111 * i) for i in range(29)]  # one in thirty with a leading zero
    documents = [{"_id": i, "shipping": {"postcode": z}, "destination": z} for i, z in enumerate(zips)]
    assert typed(tmp_path, documents) == {}  # `destination` is no zip by name: its leading zero says it
    numbers = [str(7 + 3111 * i) for i in range(29)]  # 7 .. 87115: no leading zero, no one fixed length
    documents = [{"_id": i, "destination": n} for i, n in enumerate(numbers)]
    assert list(typed(tmp_path / "without", documents)) == ["destination"]


def test_numbers_and_booleans_held_as_strings_are_flagged(tmp_path):
    documents = [{"_id": i, "total": f"{i * 3 + 10}.50", "gift": ["true", "false"][i % 2]} for i in range(30)]
    found = typed(tmp_path, documents)
    assert (found["total"].evidence["form"], found["total"].evidence["matched"]) == ("number", 30)
    assert (found["gift"].evidence["form"], found["gift"].evidence["examined"]) == ("boolean", 2)


def test_identifiers_and_short_code_lists_are_not_quantities(tmp_path):
    documents = [{"_id": i, "user": {"id_str": str(10**9 + 7 * i)}, "orderNumber": str(5000 + i),
                  "condition": str(i % 10), "amount": str(5000 + i)} for i in range(40)]
    assert list(typed(tmp_path, documents)) == ["amount"]  # the same digits under a quantity's name


def test_hex_24_strings_are_objectids_held_as_text(tmp_path):
    ids = [bson.ObjectId.from_datetime(d) for d in days(25)]
    documents = [{"_id": i, "customer_id": str(oid), "customer_ref": oid} for i, oid in enumerate(ids)]
    found = typed(tmp_path, documents)
    assert list(found) == ["customer_id"]  # the real ObjectId beside it is clean
    assert (found["customer_id"].evidence["form"], found["customer_id"].evidence["should_be"]) == ("objectid", "objectId")
    assert found["customer_id"].severity == "medium"


def test_a_field_mostly_but_not_nearly_all_dates_is_clean(tmp_path):
    values = [d.strftime("%Y-%m-%d") for d in days(17)] + ["soon", "unknown", "n/a"]  # 17 of 20: 85%
    documents = [{"_id": i, "due": v} for i, v in enumerate(values)]
    assert typed(tmp_path, documents) == {}


def test_the_share_threshold_comes_from_the_config(tmp_path):
    from nosql_advisor.rules import RuleConfig

    values = [d.strftime("%Y-%m-%d") for d in days(17)] + ["soon", "unknown", "n/a"]
    landscape = landscape_of(tmp_path, [{"_id": i, "due": v} for i, v in enumerate(values)])
    found = [f for f in run_rules(landscape, RuleConfig(thresholds={"DM506": {"min_share": 0.8}})) if f.rule == "DM506"]
    assert [(f.path, f.evidence["matched"], f.evidence["examined"]) for f in found] == [("due", 17, 20)]


def test_typed_forms_do_not_change_the_privacy_detectors():
    values = ["2025-03-01", "03/01/2025", "Sat, 01 Mar 2025 10:00:00 +0000", "Sat Apr 25 18:43:04 +0000 2015",
              "12.50", "1e3", "yes", "65f1a2b3c4d5e6f708192a3b", "02134"]
    assert detect(values) == {}  # what redact.py and DM701/DM702 read: no typed form there
    assert detect(values, forms=True) == {"date_iso": 1, "date_slashed": 1, "date_rfc2822": 1, "date_ctime": 1,
                                          "number": 2, "boolean": 1, "objectid": 1, "leading_zero": 1}


def test_digits_of_one_fixed_length_are_codes_unless_the_name_says_a_quantity(tmp_path):
    # crm.people of the reviewer's case c4b: ten-digit phones, nine-digit SSNs, thirteen-digit EANs
    documents = [{"_id": i, "telephone": str(9504558838 + 7919 * i), "msisdn": str(17165783200 + 13 * i),
                  "ssn": str(320287424 + 9973 * i), "ean13": str(9846015185939 + 101 * i),
                  "pincode": str(289953 + 17 * i), "npi": str(1044813989 + 31 * i), "order": str(100000 + i),
                  "birth_year": str(1945 + i), "build": f"{i % 9}.{i}", "digits": str(4711000 + 37 * i),
                  "amount": str(6000 + 41 * i), "price": f"{30 + 7 * i}.16", "lat": f"-{41 + i % 40}.20804"}
                 for i in range(40)]
    assert sorted(typed(tmp_path, documents)) == ["amount", "lat", "price"]  # `digits`: seven of them, always


def test_code_words_count_inside_a_name_and_quantity_words_win():
    from nosql_advisor.rules.strings import name_kind

    codes = ["telephone", "msisdn", "ssn", "ean13", "pincode", "npi", "order", "build", "app_version", "birth_year",
             "modelYear", "phone2", "orderNumber", "order_no", "id_str", "customerId", "zip", "isbn"]
    assert {name: name_kind(name) for name in codes} == dict.fromkeys(codes, "code")
    quantities = ["price", "amount", "total", "qty", "lat", "order_total", "shipping_weight", "mean_delay"]
    assert {name: name_kind(name) for name in quantities} == dict.fromkeys(quantities, "quantity")
    assert [name_kind(name) for name in ("destination", "valid", "hotel_stars", "notes")] == [None] * 4


def test_a_digits_only_number_also_counts_its_length():
    assert detect(["2024", "1995", "12.50", "7", "02134"], forms=True) == {
        "number": 4, "digits_4": 2, "digits_1": 1, "leading_zero": 1}
