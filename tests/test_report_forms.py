"""The parts of the report one at a time: scale-risk arithmetic, schema-file locations, the CI
gate (--fail-on, --baseline), stdout forms, the markdown budget, index scripts (run on a real
server), and the query-shapes chart."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import uuid
from pathlib import Path

import bson
import pytest
from pymongo import MongoClient

from nosql_advisor.report.gate import failing, gate_exit_code
from nosql_advisor.report.html import render_html
from nosql_advisor.report.indexes_out import createindexes_script, index_name, write_index_scripts
from nosql_advisor.report.locate import locate_path
from nosql_advisor.report.markdown import render_markdown
from nosql_advisor.report.risk import growth, scale_risk, top_risks
from nosql_advisor.report.sarif import artifact_uri, rule_catalogue


from helpers import SARIF_SCHEMA, run_in_process, sarif_errors, valid


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run_in_process(*args, cwd=tmp_path)


# -- scale risk --------------------------------------------------------------------------


SIXTEEN_MIB = 16 * 1024 * 1024  # MongoDB's BSON document size limit, 16,777,216 bytes


def entry(**changes) -> dict:
    base = {
        "namespace": "app.posts", "documents_estimated": 3000, "sampled": 1000,
        "id_types": {"objectId": 1000}, "created_range": {"min": "2025-01-01T00:00:00Z", "max": "2025-01-31T00:00:00Z"},
        "document_size": {"min": 100, "max": 9000, "mean": 1200.5, "p50": 1000, "p95": 4000, "p99": 8000},
        "fields": [
            {"path": "tenant_id", "depth": 1, "value_skew": {"distinct": 7, "top_count": 600, "top_share": 0.6}},
            {"path": "comments", "depth": 1, "array": {"lengths": {"min": 0, "max": 90, "mean": 20, "p50": 12, "p95": 60, "p99": 80},
                                                      "growth": {"documents": 1000, "per_month": 4.0, "correlation": 0.9,
                                                                 "bytes_per_element": 100.0}}},
            {"path": "tags", "depth": 1, "array": {"lengths": {"min": 1, "max": 5, "mean": 2, "p50": 2, "p95": 4, "p99": 5},
                                                  "growth": {"documents": 1000, "per_month": 0.01, "correlation": 0.02,
                                                             "bytes_per_element": 8.0}}},
        ],
        "indexes": [{"key": {"_id": 1}}, {"key": {"tenant_id": 1}}],
        "source": {"kind": "dump", "location": "dump/app/posts.bson"},
    }
    base.update(changes)
    return base


def test_growth_spreads_the_objectid_documents_over_the_creation_range():
    said = growth(entry())
    assert said["span_days"] == 30 and said["documents_with_objectid"] == 3000
    assert said["per_day"] == 100 and said["per_month"] == pytest.approx(3044, abs=0.01)
    half = growth(entry(id_types={"objectId": 500, "string": 500}))
    assert half["documents_with_objectid"] == 1500 and half["per_day"] == 50
    instant = growth(entry(created_range={"min": "2025-01-01T00:00:00Z", "max": "2025-01-01T05:00:00Z"}))
    assert instant["per_day"] is None and instant["per_month"] is None
    assert growth(entry(created_range=None)) is None


def test_scale_risk_projects_growing_arrays_and_ranks_risks():
    findings = [
        {"rule": "DM102", "severity": "medium", "namespace": "app.posts", "path": "comments", "message": "grows",
         "evidence": {"months_to_16_mib": 4000}},
        {"rule": "DM305", "severity": "low", "namespace": "app.posts", "path": "tenant_id", "message": "skew",
         "evidence": {"top_share": 0.6}},
        {"rule": "DM302", "severity": "high", "namespace": "app.posts", "path": "tenant_id", "message": "few",
         "evidence": {"share_missing": 0.01}},
        {"rule": "DM103", "severity": "high", "namespace": "app.posts", "path": None, "message": "big",
         "evidence": {"document_size": {"max": 8 * 1024 * 1024}}},
    ]
    risk = scale_risk(entry(), findings, {("DM305", "tenant_id")})
    comments = risk["arrays"][0]
    assert comments["path"] == "comments" and comments["growing"]
    assert comments["p99_in_12_months"] == 80 + 12 * 4.0
    # 400 bytes a month: some 3,500 years to 16 MiB, beyond DM102's 10-year horizon, so no date is given
    assert (SIXTEEN_MIB - 8000) / (4.0 * 100.0) / 12 > 10
    assert comments["beyond_horizon"] and "months_to_16_mib" not in comments
    assert risk["months_to_16_mib"] is None and risk["limit_beyond_years"] == 10
    tags = risk["arrays"][1]
    assert not tags["growing"] and "months_to_16_mib" not in tags  # noise is not projected
    assert risk["tenant_skew"] == {"key": "tenant_id", "tenants": 7, "top_share": 0.6, "top_count": 600}
    assert risk["indexes"] == {"count": 2, "total_bytes": None}
    assert risk["document_size"]["p99_share_of_limit"] == round(8000 / SIXTEEN_MIB, 6)
    # high before medium before low; between the two highs, the 8 MiB document weighs more than 1 % missing
    assert [r["rule"] for r in risk["top_risks"]] == ["DM103", "DM302", "DM102", "DM305"]
    assert [r["baselined"] for r in risk["top_risks"]] == [False, False, False, True]
    assert risk["top_risks"][0]["docs"] == "nosql_advisor/rules/pages/DM103.md"


def test_unknown_indexes_are_not_zero_and_risks_are_capped(posts):
    assert scale_risk(entry(indexes=[]), [], indexes_known=False)["indexes"]["count"] is None
    # a .bson with no .metadata.json (the posts dump) and an export file say nothing of indexes
    (posts / "e" / "app").mkdir(parents=True)
    (posts / "e" / "app" / "notes.json").write_text('{"_id": 1, "text": "a"}\n')
    (posts / "m" / "app").mkdir(parents=True)
    (posts / "m" / "app" / "users.bson").write_bytes(bson.encode({"_id": 1}))
    (posts / "m" / "app" / "users.metadata.json").write_text(json.dumps(
        {"options": {}, "indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}, {"v": 2, "key": {"a": 1}, "name": "a_1"}]}))
    run(posts, "scan", "d", "e/app/notes.json", "m", "--out", "r", "-q")
    report = json.loads((posts / "r" / "report.json").read_text())
    counts = {c["namespace"]: c["scale_risk"]["indexes"]["count"] for c in report["collections"]}
    assert counts == {"app.posts": None, "app.notes": None, "app.users": 2}
    many = [{"rule": f"DM1{i:02d}", "severity": "low", "path": None, "message": "m", "evidence": {}} for i in range(9)]
    assert len(scale_risk(entry(), many)["top_risks"]) == 5
    assert len(top_risks(many)) == 9


# -- schema locations ------------------------------------------------------------------------


@pytest.mark.parametrize("wrap, prefix", [
    (lambda s: s, ""),
    (lambda s: {"$jsonSchema": s}, "/$jsonSchema"),
    (lambda s: {"validator": {"$jsonSchema": s}, "validationLevel": "strict"}, "/validator/$jsonSchema"),
    (lambda s: {"validator": {"$and": [{"x": {"$gt": 1}}, {"$jsonSchema": s}]}}, "/validator/$and/1/$jsonSchema"),
])
def test_a_path_is_found_in_every_schema_file_layout(wrap, prefix):
    schema = {"bsonType": "object", "properties": {
        "items": {"bsonType": "array", "items": {"bsonType": "object", "properties": {"sku": {"bsonType": "string"}}}},
        "a/b~c": {"bsonType": "string"}}}
    text = json.dumps(wrap(schema), indent=2)
    lines = text.splitlines()
    found = locate_path(text, "items.sku")
    assert found["pointer"] == prefix + "/properties/items/items/properties/sku"
    assert lines[found["line"] - 1].strip().startswith('"sku"')
    escaped = locate_path(text, "a/b~c")
    assert escaped["pointer"] == prefix + "/properties/a~1b~0c"
    assert '"a/b~c"' in lines[escaped["line"] - 1]
    undeclared = locate_path(text, "items.colour")
    assert undeclared["pointer"] == prefix + "/properties/items/items/properties"
    assert locate_path(text, None)["pointer"] == prefix


def test_artifact_uris_are_repository_relative_or_file_uris():
    assert artifact_uri("schemas/shop/orders.json") == {"uri": "schemas/shop/orders.json", "uriBaseId": "%SRCROOT%"}
    assert artifact_uri("/tmp/x y/orders.json") == {"uri": "file:///tmp/x%20y/orders.json"}


# -- the gate, the baseline and the stdout forms ----------------------------------------------


def test_the_gate_counts_findings_at_or_above_the_threshold():
    findings = [{"severity": s} for s in ("low", "medium", "high")]
    assert len(failing(findings, "medium")) == 2 and failing(findings, None) == []
    assert gate_exit_code(findings, "critical") == 0
    assert gate_exit_code(findings, "high") == 1
    assert gate_exit_code(findings, "high", input_code=2) == 2  # bad input wins
    assert gate_exit_code([], "info", input_code=3) == 3


@pytest.fixture()
def posts(tmp_path) -> Path:
    """A one-collection dump with an unbounded array (DM101, high) and no audit fields (DM602, low)."""
    (tmp_path / "d" / "app").mkdir(parents=True)
    documents = [{"_id": i, "tags": list(range(300 + i))} for i in range(3)]
    (tmp_path / "d" / "app" / "posts.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
    return tmp_path


def test_fail_on_and_the_baseline_make_scan_a_ci_gate(posts):
    done = run(posts, "scan", "d", "--out", "r", "--fail-on", "high", "-q")
    assert done.returncode == 1, done.stderr
    report = json.loads((posts / "r" / "report.json").read_text())
    assert any(f["rule"] == "DM101" and f["severity"] == "high" for f in report["findings"])
    assert run(posts, "scan", "d", "--out", "r", "--fail-on", "critical", "-q").returncode == 0
    assert run(posts, "scan", "d", "--out", "r", "-q").returncode == 0  # no gate unless asked
    # accept today's findings: the same scan passes the gate, and they are still reported
    assert run(posts, "scan", "d", "--out", "r", "--write-baseline", "base.json", "-q").returncode == 0
    gated = run(posts, "scan", "d", "--out", "r2", "--fail-on", "low", "--baseline", "base.json", "-q")
    assert gated.returncode == 0, gated.stderr
    again = json.loads((posts / "r2" / "report.json").read_text())
    assert again["findings"] == [] and {b["rule"] for b in again["baselined"]} >= {"DM101"}
    assert valid(again) == []
    # a new problem (a second collection with another unbounded array) fails it again
    (posts / "d" / "app" / "threads.bson").write_bytes(bson.encode({"_id": 1, "replies": list(range(2000))}))
    new = run(posts, "scan", "d", "--out", "r3", "--fail-on", "high", "--baseline", "base.json")
    assert new.returncode == 1
    assert "app.threads" in new.stdout and "--fail-on: 1 finding at or above the threshold" in new.stdout
    assert run(posts, "scan", "d", "--out", "r3", "--baseline", "missing.json", "-q").returncode == 2


def test_format_prints_one_form_on_stdout_and_the_summary_on_stderr(posts):
    as_json = run(posts, "scan", "d", "--out", "r", "--format", "json")
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout) == json.loads((posts / "r" / "report.json").read_text())
    assert "collections" in as_json.stderr and "report: r/report.html" in as_json.stderr
    sarif = run(posts, "scan", "d", "--format", "sarif", "-q")  # no --out: nothing written
    assert json.loads(sarif.stdout)["version"] == "2.1.0" and sarif.stderr == ""
    markdown = run(posts, "scan", "d", "-f", "md", "-q")
    assert markdown.stdout.startswith("# nosql-advisor: scale-risk report") and "DM101" in markdown.stdout
    text = run(posts, "scan", "d", "--out", "r4")
    assert "top risks" in text.stdout and "report: r4/report.html" in text.stdout
    assert sorted(p.name for p in (posts / "r4").iterdir()) == [
        ".nosql-advisor-output", "report.html", "report.json", "report.md", "report.sarif", "validators"]
    assert run(posts, "scan", "d", "--format", "xml", "-q").returncode == 2


def test_docs_url_links_rules_in_markdown_and_sarif(posts):
    base = "https://example.org/nosql-advisor/docs/rules"
    run(posts, "scan", "d", "--out", "r", "--docs-url", base, "-q")
    log = json.loads((posts / "r" / "report.sarif").read_text())
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["DM101"]["helpUri"] == f"{base}/DM101.md"
    assert f"[DM101]({base}/DM101.md)" in (posts / "r" / "report.md").read_text()


def test_without_docs_url_no_link_points_at_a_missing_page(posts):
    """No --docs-url: no helpUri and no relative rule link (there is no page beside the report);
    the SARIF help carries the whole packaged page instead."""
    run(posts, "scan", "d", "--out", "r", "-q")
    page = (Path(__file__).resolve().parent.parent / "nosql_advisor" / "rules" / "pages" / "DM101.md").read_text(encoding="utf-8")
    rules = {r["id"]: r for r in json.loads((posts / "r" / "report.sarif").read_text())["runs"][0]["tool"]["driver"]["rules"]}
    assert not any("helpUri" in rule for rule in rules.values())
    assert rules["DM101"]["help"] == {"text": page, "markdown": page}
    markdown = (posts / "r" / "report.md").read_text()
    assert "| DM101 |" in markdown and "](" not in markdown and "docs/rules" not in markdown


def test_a_relative_docs_url_is_bad_usage(posts):
    """SARIF's helpUri is an absolute URI: `--docs-url docs/rules` is refused, not written."""
    done = run(posts, "scan", "d", "--out", "r", "--docs-url", "docs/rules", "-q")
    assert done.returncode == 2 and "--docs-url" in done.stderr
    assert not (posts / "r").exists()


# -- markdown budget -----------------------------------------------------------------------


def test_a_huge_report_still_fits_a_comment(posts):
    run(posts, "scan", "d", "--out", "r", "-q")
    report = json.loads((posts / "r" / "report.json").read_text())
    finding = report["findings"][0]
    report["findings"] = [dict(finding, path=f"field_{i}", message="x" * 200) for i in range(3000)]
    collection = report["collections"][0]
    report["collections"] = [dict(copy.deepcopy(collection), namespace=f"app.c{i:04d}") for i in range(500)]
    text = render_markdown(report)
    assert len(text) < 65_536
    assert re.search(r"_\d+ more findings \(less severe\) in report.html and report.json._", text)
    assert re.search(r"_\d+ more collections in report.html and report.json._", text)


# -- index advice -----------------------------------------------------------------------------


ADVICE = [
    {"namespace": "shop.orders", "keys": [["tenant_id", 1], ["status", 1], ["created_at", -1]],
     "serves": ["q1", "q2"], "reason": "ESR: tenant_id and status equality, created_at sort"},
    {"namespace": "shop.orders", "keys": [["customer.email", 1]], "serves": ["q3"], "reason": "case-insensitive lookup",
     "options": {"collation": {"locale": "en", "strength": 2}}},
    {"namespace": "crm.leads", "keys": [["owner", 1]], "serves": ["q9"], "reason": "equality on owner"},
]


def test_index_scripts_are_written_per_database_from_index_advice(tmp_path):
    written = write_index_scripts(tmp_path / "indexes", ADVICE)
    assert [p.name for p in written] == ["crm.js", "shop.js"]
    script = (tmp_path / "indexes" / "shop.js").read_text()
    assert script.index('"tenant_id": 1') < script.index('"status": 1') < script.index('"created_at": -1')
    assert '"name": "tenant_id_1_status_1_created_at_-1"' in script and '"strength": 2' in script
    assert write_index_scripts(tmp_path / "none", []) == [] and not (tmp_path / "none").exists()
    assert index_name([["a", 1], ["b", "text"]]) == "a_1_b_text"


@pytest.mark.live
def test_the_index_script_commands_build_the_indexes_on_a_real_server(mongo_uri):
    """The createIndexes command of each script, run as it stands: the server accepts it and lists
    the indexes with the recommended keys, in order."""
    database = f"idx_{uuid.uuid4().hex[:8]}"
    advice = [dict(a, namespace=f"{database}.orders") for a in ADVICE[:2]]
    script = createindexes_script(database, advice)
    command = json.loads(re.search(r"runCommand\((\{.*?\})\)\);", script, re.S).group(1))
    client = MongoClient(mongo_uri)
    try:
        client[database]["orders"].insert_one({"tenant_id": "t1"})
        reply = client[database].command(command)
        assert reply["ok"] == 1
        indexes = {i["name"]: list(i["key"].items()) for i in client[database]["orders"].list_indexes()}
        assert indexes["tenant_id_1_status_1_created_at_-1"] == [("tenant_id", 1), ("status", 1), ("created_at", -1)]
        assert indexes["customer.email_1"] == [("customer.email", 1)]
    finally:
        client.drop_database(database)
        client.close()


def test_scan_writes_index_scripts_when_the_report_holds_advice(posts):
    """write_forms reads index_advice from the report dict (the workload builds it)."""
    from nosql_advisor.report.write import write_forms

    run(posts, "scan", "d", "--out", "r", "-q")
    report = json.loads((posts / "r" / "report.json").read_text())
    report["index_advice"] = ADVICE[:1]
    written = write_forms(posts / "w", report, {})
    assert posts / "w" / "indexes" / "shop.js" in written
    html = (posts / "w" / "report.html").read_text()
    assert "tenant_id: 1, status: 1, created_at: -1" in html
    assert "`{tenant_id: 1, status: 1, created_at: -1}`" in (posts / "w" / "report.md").read_text()


# -- query shapes chart -----------------------------------------------------------------------


def test_the_query_shapes_chart_ranks_shapes_by_total_time(posts):
    run(posts, "scan", "d", "--out", "r", "-q")
    report = json.loads((posts / "r" / "report.json").read_text())
    empty = render_html(report, rule_catalogue())
    assert "No workload was read" in empty and "top query shapes by total time" not in empty
    report["query_shapes"] = [
        {"namespace": "app.posts", "id": "s1", "shape": "find {tenant_id: eq}", "count": 10, "total_ms": 120.0},
        {"namespace": "app.posts", "id": "s2", "shape": "find {title: regex}", "count": 3, "total_ms": 4800.0},
        {"namespace": "app.posts", "id": "s3", "shape": "aggregate $lookup", "count": 50, "total_ms": 900.5},
        {"namespace": "app.posts", "id": "s4", "op": "find", "predicate": {"tenant_id": "eq", "at": "range"},
         "count": 1, "total_ms": 1.0},
    ]
    assert valid(report) == []
    html = render_html(report, rule_catalogue())
    chart = html[html.index('aria-label="top query shapes by total time"'):]
    chart = chart[:chart.index("</svg>")]
    order = [chart.index(name) for name in ("find {title: regex}", "aggregate $lookup", "find {tenant_id: eq}")]
    assert order == sorted(order)
    widths = [float(w) for w in re.findall(r'class="label">[^<]*</text><rect x="\d+" y="[\d.]+" width="([\d.]+)"', chart)]
    assert widths[0] > widths[1] > widths[2] > 0
    assert "4,800 ms, 3×" in chart
    assert 'find {&#34;at&#34;:&#34;range&#34;,&#34;tenant_id&#34;:&#34;eq&#34;}' in chart  # no shape text: op and predicate


# -- the demo ---------------------------------------------------------------------------------


@pytest.mark.live
def test_the_demo_ends_with_the_summary_and_the_path_of_report_html(tmp_path):
    """`demo run` (what ./scripts/demo runs): a SecantusDB process, the demo database loaded and
    scanned over the wire, every form written, the summary, then where report.html is."""
    done = run(tmp_path, "demo", "run", "--out", "demo", "--scale", "0.02")
    assert done.returncode == 0, done.stderr
    lines = [line.rstrip() for line in done.stdout.splitlines() if line.strip()]
    assert lines[-1] == "report: demo/report.html"
    assert "collections" in done.stdout and "top risks" in done.stdout and "findings:" in done.stdout
    for name in ("report.html", "report.md", "report.json", "report.sarif", "manifest.json"):
        assert (tmp_path / "demo" / name).stat().st_size > 0
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert valid(report) == []
    assert report["sources"][0]["kind"] == "live"
    assert all(c["scale_risk"]["indexes"]["count"] >= 1 for c in report["collections"])  # listIndexes, live
    # a live scan: the demo's own schema files (under --out) are the only files results can name
    log = json.loads((tmp_path / "demo" / "report.sarif").read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]
            if "locations" in r}
    assert uris and all(uri.startswith("demo/schemas/shop/") for uri in uris)
    assert any("locations" not in r for r in log["runs"][0]["results"])  # live, no schema file: no location
    if SARIF_SCHEMA.exists():
        assert sarif_errors(log) == []


def test_markdown_cells_survive_pipes_and_angle_brackets(posts):
    run(posts, "scan", "d", "--out", "r", "-q")
    report = json.loads((posts / "r" / "report.json").read_text())
    report["findings"][0]["message"] = "a | b <details> c"
    report["findings"][0]["path"] = "x|y"
    text = render_markdown(report)
    row = next(line for line in text.splitlines() if "a \\| b" in line)
    assert "a \\| b &lt;details&gt; c" in row and "`x\\|y`" in row
    assert len(re.split(r"(?<!\\)\|", row)) == 7  # still five cells between the outer pipes
