"""Follow-ups of issue 11: a family finding counts under each of its collections in every
per-collection figure; the tenant skew is measured on the database's tenant key; a baseline
written before grouping still accepts the family (and the reverse); and the workload rules say
nothing where neither an index list nor a recorded plan gives them evidence."""

from __future__ import annotations

import datetime
import html
import json
import re

from bson import json_util
from rich.console import Console

from nosql_advisor.advise import advise
from nosql_advisor.baseline import load_baseline, split_baseline, write_baseline
from nosql_advisor.config import Config
from nosql_advisor.coverage import coverage
from nosql_advisor.findings import Finding
from nosql_advisor.render_text import scan_summary
from nosql_advisor.report.format import landscape_risks
from nosql_advisor.report.html import render_html
from nosql_advisor.report.json_report import build_report
from nosql_advisor.report.markdown import render_markdown
from nosql_advisor.report.sarif import render_sarif, rule_catalogue
from nosql_advisor.rules import RuleConfig, run_rules
from nosql_advisor.rules.families import group_families
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.workload.shapes import Operation, Workload

from helpers import SARIF_SCHEMA, sarif_errors, scanned_dump, valid

NOW = datetime.datetime(2026, 1, 1)
MEMBERS = ["events_t_0001", "events_t_0002", "events_t_0003", "events_t_0004"]
NO_GROUPING = Config(rules=RuleConfig(thresholds={"DM106": {"family_min_collections": 1000}}))




def export(tmp_path, documents: list[dict]):
    """An export file app/orders.json (no index list, no options), scanned."""
    folder = tmp_path / "export" / "app"
    folder.mkdir(parents=True)
    (folder / "orders.json").write_text("".join(json_util.dumps(d) + "\n" for d in documents))
    return scan_sources([str(tmp_path / "export")], ScanOptions())


def events(n: int) -> list[dict]:
    """Events with no timestamps: DM602 (and DM501) in every collection of them."""
    return [{"_id": i, "kind": "view", "value": i} for i in range(n)]


def per_collection(report: dict) -> dict[str, tuple]:
    """namespace -> (the rules of its top risks, sorted)."""
    return {c["namespace"]: sorted(r["rule"] for r in c["scale_risk"]["top_risks"]) for c in report["collections"]}


def collections_table(report: dict) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(scan_summary(report, []).renderables[0])  # the collections table: counts and top risk
    return console.export_text()


# -- 1. a family finding counts under each member ------------------------------------------------

def test_a_family_finding_counts_under_each_of_its_collections(tmp_path):
    landscape = scanned_dump(tmp_path, {name: events(5) for name in MEMBERS} | {"orders": events(5)})
    grouped = build_report(landscape, advise(landscape))
    apart = build_report(landscape, advise(landscape, config=NO_GROUPING))
    assert valid(grouped) == []
    family = [f for f in grouped["findings"] if f["namespace"] == "app.events_t_*"]
    assert {f["rule"] for f in family} >= {"DM501", "DM602"}  # the family findings exist
    # each member's scale risk and the terminal's counts read as they did with one finding per collection
    assert per_collection(grouped) == per_collection(apart)
    assert collections_table(grouped) == collections_table(apart)
    for collection in grouped["collections"]:
        families = {r.get("family") for r in collection["scale_risk"]["top_risks"]}
        assert families == ({"app.events_t_*"} if collection["namespace"] != "app.orders" else {None})
    # the landscape's top risks list the family once, on its glob, not once per member
    listed = [(r["namespace"], r["rule"]) for r in landscape_risks(grouped, 50)]
    assert listed.count(("app.events_t_*", "DM602")) == 1
    assert not any(namespace.startswith("app.events_t_0") for namespace, _ in listed)
    summary = render_markdown(grouped).split("## Findings")[0]
    assert summary.count("`app.events_t_*`") == 1 and "`app.events_t_0001`" not in summary
    # report.html's collection filter shows the family finding under each member's name
    page = render_html(grouped, rule_catalogue())
    rows = {html.unescape(m) for m in re.findall(r"data-namespace=\"app\.events_t_\*\" data-namespaces='([^']*)'", page)}
    assert [json.loads(r) for r in rows] == [["app.events_t_*"] + [f"app.{name}" for name in MEMBERS]]
    assert all(f'<option value="app.{name}">' in page for name in MEMBERS)
    # report.sarif: the family result names each collection and, related, the file each was read from
    sarif = render_sarif(grouped, rule_catalogue())
    [result] = [r for r in sarif["runs"][0]["results"]
                if r["ruleId"] == "DM602" and r["properties"]["namespace"] == "app.events_t_*"]
    assert result["properties"]["collections"] == [f"app.{name}" for name in MEMBERS]
    files = [place["physicalLocation"]["artifactLocation"]["uri"] for place in result["relatedLocations"]]
    assert [file.rsplit("/", 1)[-1] for file in files] == [f"{name}.bson" for name in MEMBERS]
    if SARIF_SCHEMA.exists():
        assert sarif_errors(sarif) == []


def test_an_ordinary_finding_counts_under_its_own_collection_only(tmp_path):
    landscape = scanned_dump(tmp_path, {"events_t_0001": events(5), "events_t_0002": events(5), "orders": events(5)})
    report = build_report(landscape, advise(landscape))  # two of a pattern: no family
    for collection in report["collections"]:
        rules = [r["rule"] for r in collection["scale_risk"]["top_risks"]]
        mine = [f["rule"] for f in report["findings"] if f["namespace"] == collection["namespace"]]
        assert sorted(rules) == sorted(mine)[:5] and "family" not in str(collection["scale_risk"]["top_risks"])


# -- 2. the tenant skew is measured on the database's tenant key -------------------------------------

def test_the_tenant_skew_is_measured_on_the_database_tenant_key(tmp_path):
    audit = {"created_at": NOW, "updated_at": NOW}
    # orders: tenant "big" holds 60 of 100 documents (t0..t3 the rest); its 50 user accounts share them evenly (2% each)
    orders = [{"_id": i, "account_id": f"a{i % 50}", "tenant_id": "big" if i < 60 else f"t{i % 4}", **audit}
              for i in range(100)]
    others = [{"_id": i, "tenant_id": f"t{i % 4}", **audit} for i in range(12)]
    landscape = scanned_dump(tmp_path, {"orders": orders, "invoices": others, "products": others})
    report = build_report(landscape, advise(landscape))
    skew = {c["namespace"]: c["scale_risk"]["tenant_skew"] for c in report["collections"]}
    assert skew["app.orders"] == {"key": "tenant_id", "tenants": 5, "top_share": 0.6, "top_count": 60}
    assert skew["app.invoices"]["key"] == "tenant_id"
    assert "largest tenant (tenant_id) 60% of 5 tenants" in render_markdown(report)


def test_without_a_multi_tenant_database_the_skew_is_on_the_candidate_it_carries(tmp_path):
    audit = {"created_at": NOW, "updated_at": NOW}
    landscape = scanned_dump(tmp_path, {  # one of three collections carries a candidate: no tenant key decided
        "orders": [{"_id": i, "account_id": "a1" if i < 9 else "a2", **audit} for i in range(10)],
        "products": [{"_id": i, **audit} for i in range(5)], "pages": [{"_id": i, **audit} for i in range(5)]})
    report = build_report(landscape, advise(landscape))
    [orders] = [c for c in report["collections"] if c["namespace"] == "app.orders"]
    assert orders["scale_risk"]["tenant_skew"] == {"key": "account_id", "tenants": 2, "top_share": 0.9, "top_count": 9}


# -- 3. baselines across family grouping ------------------------------------------------------------

def member_findings(names: list[str], rule: str = "DM602") -> list[Finding]:
    return [Finding(rule, "low", f"app.{name}", None, f"app.{name}: no created and no updated timestamp.", {"share": 1})
            for name in names]


def test_a_baseline_written_before_grouping_accepts_the_family(tmp_path):
    baseline = tmp_path / "baseline.json"
    write_baseline(baseline, member_findings(MEMBERS))  # one entry per collection, as before grouping
    [family] = group_families(member_findings(MEMBERS))
    assert family.namespace == "app.events_t_*"
    new, accepted = split_baseline([family], load_baseline(baseline))
    assert (new, accepted) == ([], [family])
    write_baseline(baseline, member_findings(MEMBERS[:3]))  # events_t_0004 was never accepted
    assert split_baseline([family], load_baseline(baseline)) == ([family], [])
    write_baseline(baseline, member_findings(MEMBERS, rule="DM501"))  # the members, but another rule
    assert split_baseline([family], load_baseline(baseline)) == ([family], [])


def test_a_baseline_holding_the_family_accepts_a_member_finding(tmp_path):
    baseline = tmp_path / "baseline.json"
    write_baseline(baseline, group_families(member_findings(MEMBERS)))
    assert json.loads(baseline.read_text())["accepted"] == [{"rule": "DM602", "namespace": "app.events_t_*", "path": None}]
    member, outsider, other_rule = (member_findings(["events_t_0002"])[0], member_findings(["orders"])[0],
                                    member_findings(["events_t_0003"], rule="DM501")[0])
    new, accepted = split_baseline([member, outsider, other_rule], load_baseline(baseline))
    assert accepted == [member] and new == [outsider, other_rule]


def test_a_baselined_family_is_baselined_in_each_member_scale_risk(tmp_path):
    landscape = scanned_dump(tmp_path, {name: events(5) for name in MEMBERS})
    baseline = tmp_path / "baseline.json"
    write_baseline(baseline, advise(landscape, config=NO_GROUPING).findings)  # per collection
    advice = advise(landscape, config=Config(baseline=baseline))
    assert advice.findings == [] and {f.namespace for f in advice.baselined} == {"app.events_t_*"}
    report = build_report(landscape, advice)
    risks = [r for c in report["collections"] for r in c["scale_risk"]["top_risks"]]
    assert len(risks) >= len(MEMBERS) and all(r["baselined"] for r in risks)


# -- 4. no workload finding without evidence where the indexes are unknown ---------------------------

def orders(n: int = 1200) -> list[dict]:
    return [{"_id": i, "tenant_id": f"t{i % 3}", "status": "s", "total": i, "name": f"n{i}"} for i in range(n)]


def workload_of(*operations: Operation) -> Workload:
    workload = Workload()
    for operation in operations:
        for _ in range(3):
            workload.add(operation)
    return workload


def rules_found(landscape) -> list[tuple[str, str | None]]:
    return sorted((f.rule, f.path) for f in run_rules(landscape, RuleConfig())
                  if f.rule in ("DM401", "DM402", "DM407"))


def coverage_of(landscape) -> dict[str, str | None]:
    return {e.rule: e.reason for e in coverage(landscape)
            if e.namespace == "app.orders" and e.rule in ("DM401", "DM402", "DM407")}


def test_an_export_with_a_log_that_records_no_plan_reports_no_index_rule(tmp_path):
    landscape = export(tmp_path, orders())
    landscape.workload = workload_of(
        Operation("app.orders", "find", {"total": {"$gt": 3}}, duration_ms=40),  # a COLLSCAN with no index...
        Operation("app.orders", "find", {"tenant_id": "t1"}, {"total": -1}),  # an in-memory sort with none
        Operation("app.orders", "find", {"name": {"$regex": "^n1", "$options": "i"}}))  # /i with none
    assert rules_found(landscape) == []  # ... but the real indexes are unknown: no evidence
    reason = "the source holds no collection metadata: export files"
    assert coverage_of(landscape) == {"DM401": reason, "DM402": reason, "DM407": reason}
    report = build_report(landscape, advise(landscape))
    said = [e for e in report["coverage"] if e["namespace"] == "app.orders" and e["rule"] == "DM401"]
    assert said == [{"rule": "DM401", "namespace": "app.orders", "status": "not_checked", "reason": reason}]


def test_an_export_with_a_log_that_records_collscan_keeps_the_findings(tmp_path):
    landscape = export(tmp_path, orders())
    landscape.workload = workload_of(
        Operation("app.orders", "find", {"total": {"$gt": 3}}, duration_ms=40, plan_summary="COLLSCAN",
                  docs_examined=1200, nreturned=5),
        Operation("app.orders", "find", {"tenant_id": "t1"}, {"total": -1}, plan_summary="COLLSCAN",
                  docs_examined=1200, nreturned=400, in_memory_sort=True),
        Operation("app.orders", "find", {"name": {"$regex": "^n1", "$options": "i"}}, plan_summary="COLLSCAN",
                  docs_examined=1200, nreturned=300))
    # one index for each scanning shape ({total} and {tenant_id, total}), the sort, the regex
    assert rules_found(landscape) == [("DM401", None), ("DM401", None), ("DM402", "total"), ("DM407", "name")]
    assert coverage_of(landscape) == {"DM401": None, "DM402": None, "DM407": None}  # checked: the server's plans
    gaps = [f for f in advise(landscape).findings if f.rule == "DM401"]
    assert sorted(f.evidence["index"] for f in gaps) == [[["tenant_id", 1], ["total", -1]], [["total", 1]]]
    assert {(s["plan"], s["plan_source"]) for f in gaps for s in f.evidence["shapes"]} == {("COLLSCAN", "recorded")}
    assert {f.severity for f in gaps} == {"high"}


def test_a_dump_with_its_index_list_still_derives_the_plan(tmp_path):
    landscape = scanned_dump(tmp_path, {"orders": orders()})  # indexes known: only _id
    landscape.workload = workload_of(Operation("app.orders", "find", {"total": {"$gt": 3}}, duration_ms=40),
                                     Operation("app.orders", "find", {"name": {"$regex": "^n1", "$options": "i"}}))
    assert rules_found(landscape) == [("DM401", None), ("DM407", "name")]
    assert coverage_of(landscape) == {"DM401": None, "DM402": None, "DM407": None}
