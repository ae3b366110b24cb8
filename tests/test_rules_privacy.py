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
