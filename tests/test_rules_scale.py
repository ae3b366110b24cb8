"""Scale-driver rules on small landscapes: each with a positive case, a clean case and its boundary."""

from __future__ import annotations

import bson
import pytest
from bson import json_util

from nosql_advisor.rules import RULES, all_rules, run_rules
from nosql_advisor.scan import ScanOptions, scan_sources


def landscape_of(tmp_path, collections: dict[str, list[dict]], options: dict | None = None):
    for name, documents in collections.items():
        path = tmp_path / "db" / f"{name}.bson"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(bson.encode(d) for d in documents))
        if options and name in options:
            (tmp_path / "db" / f"{name}.metadata.json").write_text(json_util.dumps({"options": options[name]}))
    return scan_sources([str(tmp_path / "db")], ScanOptions())


def found(landscape, rule: str) -> list[tuple[str, str | None]]:
    return [(f.namespace, f.path) for f in run_rules(landscape) if f.rule == rule]


def test_every_design_rule_is_registered_with_a_summary():
    ids = [rule.id for rule in all_rules()]
    assert ids == sorted(ids) and len(ids) == 30
    assert all(rule.summary and rule.severity in ("low", "medium", "high", "critical") for rule in all_rules())
    checked = {rule.id for rule in all_rules() if rule.checked}
    workload = {"DM304", "DM401", "DM402", "DM403", "DM404", "DM405", "DM406", "DM407"}  # rules/workload.py
    assert {"DM101", "DM102", "DM103", "DM104", "DM105", "DM106", "DM201", "DM202", "DM301", "DM305", "DM302", "DM303", "DM501",
            "DM502", "DM503", "DM504", "DM505", "DM601", "DM602", "DM603", "DM701", "DM702"} | workload == checked
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


def test_rules_command_lists_rules_and_shows_a_page():
    import subprocess
    import sys

    listing = subprocess.run([sys.executable, "-m", "nosql_advisor", "rules"], capture_output=True, text=True)
    assert listing.returncode == 0 and "DM101" in listing.stdout and "DM702" in listing.stdout
    page = subprocess.run([sys.executable, "-m", "nosql_advisor", "rules", "DM503"], capture_output=True, text=True)
    assert page.returncode == 0 and "data violates the declared schema" in page.stdout.lower()
    unknown = subprocess.run([sys.executable, "-m", "nosql_advisor", "rules", "DM999"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown rule DM999" in unknown.stderr
    assert RULES["DM101"].thresholds["p99_length"] == 200


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
