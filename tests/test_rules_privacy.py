"""Personal data (DM701) and secrets (DM702): detectors, clean cases and the share boundary."""

from __future__ import annotations

import bson

from nosql_advisor.rules import run_rules
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.shape.detect import detect


def landscape_of(tmp_path, documents: list[dict]):
    (tmp_path / "app").mkdir(parents=True, exist_ok=True)
    (tmp_path / "app" / "users.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
    return scan_sources([str(tmp_path / "app")], ScanOptions())


def rows(landscape, rule: str) -> dict[str, object]:
    return {f.path: f for f in run_rules(landscape) if f.rule == rule}


def test_detectors_recognise_what_they_claim():
    found = detect(["ada@example.org", "+44 20 7946 0958", "4111 1111 1111 1111", "4111 1111 1111 1112",
                    "GB82WEST12345698765432", "GB82WEST12345698765433", "192.168.10.1", "078-05-1120",
                    "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "AKIAIOSFODNN7EXAMPLE",
                    "-----BEGIN PRIVATE KEY-----\nMIIE", "$2b$12$KIXQ1OZ3ZJbVq8cZ1K2YeO", "just words"])
    assert found == {"email": 1, "phone": 1, "card_number": 1, "iban": 1, "ip_address": 1, "us_ssn": 1,
                     "api_key": 1, "aws_access_key": 1, "private_key": 1, "password_hash": 1}


def test_personal_data_by_value_and_by_name(tmp_path):
    import datetime

    documents = [{"_id": i, "card": "4111 1111 1111 1111", "mail": f"u{i}@example.com",
                  "birthday": datetime.datetime(1990, 1, 1), "city": "Lyon"} for i in range(10)]
    found = rows(landscape_of(tmp_path, documents), "DM701")
    assert sorted(found) == ["birthday", "card", "mail"]
    assert (found["card"].severity, found["mail"].severity, found["birthday"].evidence["by_name"]) == ("high", "low", True)
    assert "4111" not in str(found["card"].evidence) + found["card"].message  # never a value


def test_below_half_of_the_values_is_not_a_finding(tmp_path):
    documents = [{"_id": i, "note": f"u{i}@example.com" if i < 5 else f"plain note {i}"} for i in range(11)]
    assert rows(landscape_of(tmp_path, documents), "DM701") == {}
    documents[5]["note"] = "u5@example.com"  # 6 of 11: past the boundary
    assert list(rows(landscape_of(tmp_path, documents), "DM701")) == ["note"]


def test_hashed_passwords_are_fine_plaintext_ones_are_secrets(tmp_path):
    hashed = [{"_id": i, "password": f"$2b$12${'x' * 53}{i}"} for i in range(5)]
    assert rows(landscape_of(tmp_path / "a", hashed), "DM702") == {}
    plain = [{"_id": i, "password": f"hunter{i}", "token": "ghp_" + "a" * 36} for i in range(5)]
    found = rows(landscape_of(tmp_path / "b", plain), "DM702")
    assert sorted(found) == ["password", "token"]
    assert found["password"].evidence["plaintext_passwords"] == 5


def test_an_email_as_id_is_an_unstable_identifier(tmp_path):
    by_email = [{"_id": f"user{i}@example.com", "name": "n"} for i in range(6)]
    assert list(rows(landscape_of(tmp_path / "a", by_email), "DM601")) == ["_id"]
    by_code = [{"_id": f"CUST-{i:04d}", "email": f"user{i}@example.com"} for i in range(6)]
    assert rows(landscape_of(tmp_path / "b", by_code), "DM601") == {}


def test_an_id_equal_to_another_field_is_a_natural_key(tmp_path):
    by_username = [{"_id": f"user{i}", "username": f"user{i}", "user_id": f"user{i}"} for i in range(30)]
    [finding] = rows(landscape_of(tmp_path / "a", by_username), "DM601").values()
    assert finding.evidence["equal_to"] == {"username": {"equal": 30, "rows": 30}}  # user_id is a copy of the key
    assert "user1" not in finding.message + str(finding.evidence)


def test_equal_in_under_half_of_the_documents_or_too_few_documents_is_not_a_finding(tmp_path):
    half = [{"_id": f"k{i}", "handle": f"k{i}" if i < 14 else f"other{i}"} for i in range(30)]
    assert rows(landscape_of(tmp_path / "a", half), "DM601") == {}  # 14 of 30 < 50%
    most = [{"_id": f"k{i}", "handle": f"k{i}" if i < 15 else f"other{i}"} for i in range(30)]
    assert list(rows(landscape_of(tmp_path / "b", most), "DM601")) == ["_id"]  # 15 of 30: at the boundary
    few = [{"_id": f"k{i}", "handle": f"k{i}"} for i in range(19)]
    assert rows(landscape_of(tmp_path / "c", few), "DM601") == {}  # 19 sampled documents < min_rows 20


def test_a_slug_as_id_is_derived_from_a_name_but_a_uuid_is_not(tmp_path):
    slugs = [{"_id": f"blue-widget-{i}", "title": f"Blue Widget {i}"} for i in range(10)]
    [finding] = rows(landscape_of(tmp_path / "a", slugs), "DM601").values()
    assert finding.evidence["detector"] == "slug" and finding.evidence["matched"] == 10
    import uuid
    uuids = [{"_id": str(uuid.UUID(int=i * 7919 + 1)), "title": "t"} for i in range(10)]
    assert rows(landscape_of(tmp_path / "b", uuids), "DM601") == {}
    assert detect(["2015-08-13", "t_0001", "sku-0001", "in-transit"]) == {"slug": 1}  # dates and codes are no slugs
