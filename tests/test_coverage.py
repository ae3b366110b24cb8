"""Coverage: every rule on every collection is `checked`, or `not_checked` with the reason in
words, and every report form says so: a report with nothing found says "no findings in what
was checked" and names what was not. Sources are tiny files written here."""

from __future__ import annotations

import json
from pathlib import Path

import bson
import jsonschema
import pytest
from bson import json_util

from nosql_advisor.coverage import NEEDS, coverage
from nosql_advisor.rules import RULES, all_rules
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.workload import read_workload

from helpers import SCHEMA, run_in_process, valid

METADATA_RULES = ("DM303", "DM403", "DM404", "DM405", "DM501", "DM502", "DM603")
WORKLOAD_RULES = ("DM304", "DM401", "DM402", "DM406", "DM407")
EXPORT_REASON = "the source holds no collection metadata: export files"
NO_WORKLOAD = "no workload read (--profile/--log)"
CREATED = {"$date": "2025-01-02T03:04:05Z"}


def clean_document(n: int) -> dict:
    return {"_id": n, "name": f"n{n}", "created_at": CREATED, "updated_at": CREATED}


def write_export(root: Path, collections: dict[str, int]) -> Path:
    """One NDJSON export file per collection of database `shop`, `count` documents each."""
    (root / "shop").mkdir(parents=True)
    for name, count in collections.items():
        lines = [json.dumps(clean_document(n)) for n in range(count)]
        (root / "shop" / f"{name}.json").write_text("\n".join(lines) + "\n")
    return root


def write_dump(root: Path) -> Path:
    """A mongodump of shop.orders with its metadata.json: two indexes and a $jsonSchema validator."""
    folder = root / "shop"
    folder.mkdir(parents=True)
    documents = [{"_id": n, "status": "paid", "created_at": n, "updated_at": n} for n in range(5)]
    (folder / "orders.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
    metadata = {"indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"},
                            {"v": 2, "key": {"status": 1}, "name": "status_1"}],
                "options": {"validator": {"$jsonSchema": {"bsonType": "object", "required": ["status"]}}}}
    (folder / "orders.metadata.json").write_text(json_util.dumps(metadata))
    return root


def write_log(path: Path) -> Path:
    line = {"t": {"$date": "2025-01-02T00:00:00Z"}, "s": "I", "c": "COMMAND", "id": 51803, "msg": "Slow query",
            "attr": {"type": "command", "ns": "shop.orders", "command": {"find": "orders", "filter": {"status": "paid"}},
                     "planSummary": "IXSCAN { status: 1 }", "docsExamined": 5, "nreturned": 5, "durationMillis": 120}}
    path.write_text(json.dumps(line) + "\n")
    return path


def statuses(landscape) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {(e.namespace, e.rule): (e.status, e.reason) for e in coverage(landscape)}


def test_an_export_scan_says_the_metadata_rules_were_not_checked_on_each_collection(tmp_path):
    landscape = scan_sources([str(write_export(tmp_path / "export", {"orders": 3, "users": 2}))], ScanOptions())
    found = statuses(landscape)
    for namespace in ("shop.orders", "shop.users"):
        for rule in METADATA_RULES:
            assert found[(namespace, rule)] == ("not_checked", EXPORT_REASON), (namespace, rule)
        assert found[(namespace, "DM101")] == ("checked", None)
        assert found[(namespace, "DM505")] == ("checked", None)


def test_without_a_log_every_workload_rule_is_not_checked(tmp_path):
    landscape = scan_sources([str(write_export(tmp_path / "export", {"orders": 3}))], ScanOptions())
    found = statuses(landscape)
    workload_rules = WORKLOAD_RULES + (("DM408",) if "DM408" in RULES else ())
    for rule in workload_rules:
        assert found[("shop.orders", rule)] == ("not_checked", NO_WORKLOAD), rule


def test_a_dump_with_metadata_and_a_log_checks_the_metadata_and_workload_rules(tmp_path):
    landscape = scan_sources([str(write_dump(tmp_path / "dump"))], ScanOptions())
    landscape.workload = read_workload(logs=[write_log(tmp_path / "mongod.log")])
    found = statuses(landscape)
    for rule in ("DM303", "DM404", "DM405", "DM501", "DM502", "DM503", "DM504", "DM603") + WORKLOAD_RULES:
        assert found[("shop.orders", rule)] == ("checked", None), rule
    status, reason = found[("shop.orders", "DM403")]  # a log holds no $indexStats
    assert status == "not_checked" and "$indexStats" in reason


def test_the_schema_rules_need_a_declared_schema(tmp_path):
    folder = tmp_path / "dump" / "shop"
    folder.mkdir(parents=True)
    (folder / "plain.bson").write_bytes(bson.encode({"_id": 1}))
    (folder / "plain.metadata.json").write_text(json.dumps({"indexes": [], "options": {}}))
    found = statuses(scan_sources([str(tmp_path / "dump")], ScanOptions()))
    no_schema = ("not_checked", "no declared schema: no validator, no schemas/ file")
    assert found[("shop.plain", "DM503")] == found[("shop.plain", "DM504")] == no_schema
    assert found[("shop.plain", "DM501")] == ("checked", None)  # its metadata says: no validator


def test_every_registered_rule_is_covered_on_every_collection_and_database_wide_ones_per_database(tmp_path):
    landscape = scan_sources([str(write_export(tmp_path / "export", {"a": 1, "b": 1, "c": 1}))], ScanOptions())
    entries = coverage(landscape)
    rules = {rule.id for rule in all_rules()}
    per_collection = rules - {"DM106"}
    expected = {(ns, rule) for ns in ("shop.a", "shop.b", "shop.c") for rule in per_collection} | {("shop", "DM106")}
    assert {(e.namespace, e.rule) for e in entries} == expected
    assert len(entries) == len(expected)  # each once
    assert [(e.namespace, e.rule) for e in entries] == sorted(expected)  # namespace, then rule: diffs clean


def test_every_registered_rule_says_what_it_needs():
    assert {rule.id for rule in all_rules()} <= set(NEEDS)
    for rule in ("DM203", "DM204", "DM408", "DM506", "DM507", "DM508"):  # the rules of issue 11
        assert rule in NEEDS
    assert NEEDS["DM408"] == ("workload",)


@pytest.fixture(scope="module")
def clean_scan(tmp_path_factory):
    """`scan` of a clean export of two collections, once for the tests of the forms."""
    root = tmp_path_factory.mktemp("clean")
    write_export(root / "export", {"orders": 3, "users": 2})
    done = run_in_process("scan", "export", "--out", "out", cwd=root)
    assert done.returncode == 0, done.stderr
    return done, root / "out"


def test_a_clean_report_says_no_findings_in_what_was_checked_and_names_what_was_not(clean_scan):
    done, out = clean_scan
    report = json.loads((out / "report.json").read_text())
    assert report["findings"] == [], report["findings"]
    assert valid(report) == []
    terminal = " ".join(done.stdout.split())
    markdown = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    for text in (terminal, markdown, html):
        assert "No findings in what was checked; not checked: " in text
        assert "DM403" in text and EXPORT_REASON in text and NO_WORKLOAD in text
        assert "No findings." not in text
    assert f"not checked: 7 rules not checked on 2 collections: {EXPORT_REASON}" in terminal
    assert f"7 rules not checked on 2 collections: {EXPORT_REASON} (DM303, DM403, DM404" in markdown


def test_the_html_expands_each_reason_into_its_rules_and_collections(clean_scan):
    html = (clean_scan[1] / "report.html").read_text()
    section = html[html.index('id="not-checked"'):]
    section = section[:section.index("</ul>")]
    assert section.count('<details class="coverage">') == section.count("<li>") >= 3
    assert "<tr><td>DM501</td><td><code>shop.orders</code>, <code>shop.users</code></td></tr>" in section


def test_sarif_carries_one_notification_per_reason(clean_scan):
    out = clean_scan[1]
    report = json.loads((out / "report.json").read_text())
    reasons = {e["reason"] for e in report["coverage"] if e["status"] == "not_checked"}
    sarif = json.loads((out / "report.sarif").read_text())
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert sorted(n["properties"]["reason"] for n in notes) == sorted(reasons)
    assert all(n["level"] == "warning" and n["message"]["text"].startswith("not checked: ") for n in notes)
    metadata = next(n for n in notes if n["properties"]["reason"] == EXPORT_REASON)
    assert metadata["properties"]["not_checked_on"]["DM404"] == ["shop.orders", "shop.users"]


def test_report_schema_requires_a_reason_only_for_what_was_not_checked():
    base = {"rule": "DM101", "namespace": "shop.orders"}
    coverage_schema = SCHEMA["properties"]["coverage"]["items"]
    check = jsonschema.Draft202012Validator(coverage_schema).is_valid
    assert check({**base, "status": "checked"})
    assert check({**base, "status": "not_checked", "reason": "no workload read"})
    assert not check({**base, "status": "not_checked"})
    assert not check({**base, "status": "checked", "reason": "why?"})


def test_one_line_per_reason_counts_collections_and_databases_apart():
    from nosql_advisor.report.format import clean_report_line, not_checked_lines

    report = {"coverage": [
        {"rule": "DM401", "namespace": "crm", "status": "not_checked", "reason": "not authorised for crm.system.profile"},
        {"rule": "DM401", "namespace": "shop.a", "status": "not_checked", "reason": "not authorised for crm.system.profile"},
        {"rule": "DM304", "namespace": "shop.b", "status": "not_checked", "reason": "not authorised for crm.system.profile"},
        {"rule": "DM101", "namespace": "shop.a", "status": "checked"},
        {"rule": "DM403", "namespace": "shop.a", "status": "not_checked", "reason": "not authorised for $indexStats"},
    ]}
    assert not_checked_lines(report) == [  # by reason
        "1 rule not checked on 1 collection: not authorised for $indexStats (DM403)",
        "2 rules not checked on 2 collections and 1 database: not authorised for crm.system.profile (DM304, DM401)",
    ]
    assert clean_report_line(report) == ("No findings in what was checked; not checked: DM304, DM401, DM403 "
                                         "(reasons: see Not checked).")
    everything = {"coverage": [{"rule": "DM101", "namespace": "shop.a", "status": "checked"}]}
    assert not_checked_lines(everything) == []
    assert clean_report_line(everything).startswith("No findings in what was checked: every rule was checked")
    assert clean_report_line({"coverage": []}) == "No findings: no collection was read, so no rule was checked."


def test_what_a_source_said_it_could_not_read_comes_first_and_unscanned_places_are_kept(tmp_path):
    from nosql_advisor.workload.shapes import Workload

    landscape = scan_sources([str(write_export(tmp_path / "export", {"orders": 1}))], ScanOptions())
    landscape.workload = Workload()
    landscape.workload.not_checked = {"shop": {"DM401": "not authorised for shop.system.profile"},
                                      "crm": {"DM401": "not authorised for crm.system.profile"}}
    found = statuses(landscape)
    assert found[("shop.orders", "DM401")] == ("not_checked", "not authorised for shop.system.profile")
    assert found[("crm", "DM401")] == ("not_checked", "not authorised for crm.system.profile")  # nothing of crm scanned
    assert found[("shop.orders", "DM406")] == ("checked", None)  # the workload was read
    # DM402 also needs the index list (or a recorded plan), which an export file does not hold
    assert found[("shop.orders", "DM402")] == ("not_checked", "the source holds no collection metadata: export files")


def test_an_empty_collection_has_its_data_rules_not_checked_and_says_why(tmp_path):
    (tmp_path / "export" / "odd").mkdir(parents=True)
    (tmp_path / "export" / "odd" / "empty.json").write_text("")
    found = statuses(scan_sources([str(tmp_path / "export")], ScanOptions()))
    empty = ("not_checked", "empty collection: no documents to check")
    data_rules = [rule.id for rule in all_rules() if NEEDS.get(rule.id) == ("data",) and rule.id != "DM106"]
    assert data_rules and all(found[("odd.empty", rule)] == empty for rule in data_rules)
    assert found[("odd.empty", "DM501")] == ("not_checked", EXPORT_REASON)  # its own reason, not emptiness


def test_a_shape_capped_by_max_paths_is_checked_in_part_and_every_form_says_so(tmp_path):
    (tmp_path / "export" / "odd").mkdir(parents=True)
    documents = [{"_id": n, f"k{n}": n} for n in range(30)]  # 31 distinct paths, 12 recorded
    (tmp_path / "export" / "odd" / "wide.json").write_text("\n".join(json.dumps(d) for d in documents) + "\n")
    done = run_in_process("scan", "export", "--out", "out", "--max-paths", "12", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert valid(report) == []
    entries = {e["rule"]: e for e in report["coverage"] if e["namespace"] == "odd.wide"}
    dropped = 30 - (12 - 1)  # one key per document beyond the 11 k-paths that fit beside _id
    partial = f"{dropped} key occurrences beyond --max-paths 12 were not recorded"
    assert entries["DM101"] == {"rule": "DM101", "namespace": "odd.wide", "status": "checked", "partial": partial}
    assert "partial" not in entries["DM501"]  # a metadata rule: not checked, for its own reason
    line = f"checked in part on 1 collection: odd.wide: {partial} ("
    assert line in (tmp_path / "out" / "report.md").read_text()
    assert line in " ".join(done.stdout.split())


def test_report_schema_allows_partial_only_on_checked_entries():
    check = jsonschema.Draft202012Validator(SCHEMA["properties"]["coverage"]["items"]).is_valid
    base = {"rule": "DM101", "namespace": "shop.orders", "partial": "3 key occurrences beyond --max-paths 5 were not recorded"}
    assert check({**base, "status": "checked"})
    assert not check({**base, "status": "not_checked", "reason": "no workload read"})
