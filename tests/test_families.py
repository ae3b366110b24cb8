"""A finding repeated across a family of collections of one pattern (`events_t_0001` ...) is one
finding on the pattern listing the collections; below the family size the rows stay."""

from __future__ import annotations

import datetime

from helpers import scanned_dump
from nosql_advisor.advise import advise
from nosql_advisor.config import Config, Ignore
from nosql_advisor.findings import Finding
from nosql_advisor.rules import RuleConfig
from nosql_advisor.rules.families import group_families

NOW = datetime.datetime(2026, 1, 1)




def events(n: int) -> list[dict]:
    """Events with no created/updated timestamp (DM602 in every collection of them)."""
    return [{"_id": i, "kind": "view", "value": i} for i in range(n)]


def of_rule(advice, rule: str) -> list[Finding]:
    return [f for f in advice.findings if f.rule == rule]


def test_twelve_collections_with_the_same_dm602_are_one_finding_listing_them(tmp_path):
    names = [f"events_t_{n:04d}" for n in range(1, 13)]
    landscape = scanned_dump(tmp_path, {name: events(5) for name in names} | {"orders": events(5)})
    advice = advise(landscape)
    found = of_rule(advice, "DM602")
    assert sorted(f.namespace for f in found) == ["app.events_t_*", "app.orders"]
    [family] = [f for f in found if f.namespace == "app.events_t_*"]
    assert family.evidence["collections"] == [f"app.{name}" for name in names]
    assert family.evidence["count"] == 12
    assert family.message.startswith("in 12 collections of the pattern events_t_*: no created and no updated timestamp")
    assert family.severity == "low" and family.path is None
    [validator] = [f for f in of_rule(advice, "DM501") if f.namespace == "app.events_t_*"]
    assert validator.message.startswith("in 12 collections of the pattern events_t_*: app.events_t_* has no validator")


def test_two_collections_of_a_pattern_stay_two_findings(tmp_path):
    landscape = scanned_dump(tmp_path, {"events_t_0001": events(5), "events_t_0002": events(5)})
    assert sorted(f.namespace for f in of_rule(advise(landscape), "DM602")) == ["app.events_t_0001", "app.events_t_0002"]


def test_the_figures_of_the_family_are_given_as_ranges(tmp_path):
    def partial(created: int) -> list[dict]:  # createdAt in `created` of 4 documents, updatedAt in all
        return [{"_id": i, "updatedAt": NOW, **({"createdAt": NOW} if i < created else {})} for i in range(4)]

    landscape = scanned_dump(tmp_path, {"log_1": partial(1), "log_2": partial(2), "log_3": partial(3)})
    [family] = of_rule(advise(landscape), "DM602")
    assert family.namespace == "app.log_*"
    assert family.evidence["range"] == {"partial.createdAt": {"min": 0.25, "max": 0.75}}
    assert family.evidence["common"]["created_fields"] == ["createdAt"]
    assert "(log_1 shown; the range of each figure is in the evidence)" in family.message


def test_an_ignored_collection_leaves_the_family_and_a_small_rest_is_not_grouped(tmp_path):
    names = ["events_t_0001", "events_t_0002", "events_t_0003"]
    landscape = scanned_dump(tmp_path, {name: events(5) for name in names})
    config = Config(ignores=(Ignore("DM602", "written by a legacy job", namespace="app.events_t_0003"),))
    advice = advise(landscape, config=config)
    assert sorted(f.namespace for f in of_rule(advice, "DM602")) == ["app.events_t_0001", "app.events_t_0002"]
    assert [f.namespace for f, _ in advice.ignored if f.rule == "DM602"] == ["app.events_t_0003"]


def finding(namespace: str, severity: str = "low", message: str = "no created and no updated timestamp.") -> Finding:
    return Finding("DM602", severity, namespace, None, message, {})


def test_only_the_same_rule_path_severity_and_statement_are_grouped():
    findings = [finding("app.a_1"), finding("app.a_2"), finding("app.a_3", severity="high"),
                finding("app.a_4", message="'createdAt' in only 50.0% of documents."), finding("app.b_1")]
    assert [f.namespace for f in group_families(findings)] == ["app.a_1", "app.a_2", "app.a_3", "app.a_4", "app.b_1"]
    three = [finding(f"app.a_{n}") for n in (1, 2, 3)]
    assert [(f.namespace, f.evidence["count"]) for f in group_families(three)] == [("app.a_*", 3)]
    four = RuleConfig(thresholds={"DM106": {"family_min_collections": 4}})
    assert [f.namespace for f in group_families(three, four)] == ["app.a_1", "app.a_2", "app.a_3"]


def test_one_collection_in_a_database_per_tenant_is_a_family_too():
    findings = [Finding("DM501", "medium", f"t_{n:04d}.orders", None, f"t_{n:04d}.orders has no validator.", {})
                for n in (1, 2, 3)]
    grouped = group_families(findings + [finding("t_0001.orders")])  # a DM602 of one database stays its own
    assert [(f.rule, f.namespace) for f in grouped] == [("DM501", "t_*.orders"), ("DM602", "t_0001.orders")]
    family = grouped[0]
    assert (family.namespace, family.evidence["collections"]) == ("t_*.orders", ["t_0001.orders", "t_0002.orders", "t_0003.orders"])
    assert family.message == "in 3 collections of the pattern t_*.orders: t_*.orders has no validator."
