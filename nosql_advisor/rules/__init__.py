"""The rule registry: every DESIGN.md rule id with its summary, default severity and check.

A check is a plain function over the landscape (shapes, indexes, declared schemas): it never
sees a document. Rules whose findings another module already produces in the same pass (the
schema drift rules DM501–DM505) are registered for their metadata only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.resources import files

from nosql_advisor.findings import Finding

# The rule pages ship inside the package (package data), read through importlib.resources so
# they are found the same from a checkout, an installed wheel and a zip import.
DOCS = files(__name__) / "pages"


def page_path(rule_id: str) -> str:
    """Where a rule's page is, relative to the repository root and to site-packages alike
    (report.json's `docs`): one path that holds in a checkout and in an installed wheel."""
    return f"nosql_advisor/rules/pages/{rule_id}.md"


def page_text(rule_id: str) -> str | None:
    """The page of a rule id, or None when the package has none for it."""
    page = DOCS / f"{rule_id}.md"
    return page.read_text(encoding="utf-8") if page.is_file() else None


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    severity: str
    principle: str
    check: Callable[..., Iterable[Finding]] | None = None  # check(landscape, thresholds, config)
    thresholds: dict = field(default_factory=dict)
    checked_by: str | None = None  # for rules with no check here: the module whose findings they are

    @property
    def checked(self) -> bool:
        return self.check is not None or self.checked_by is not None

    def docs(self) -> str | None:
        """The rule's page (nosql_advisor/rules/pages/<id>.md, shipped in the wheel)."""
        return page_text(self.id)


RULES: dict[str, Rule] = {}

TENANT_KEYS = ("tenant_id", "tenantId", "org_id", "orgId", "organization_id", "organizationId",
               "account_id", "accountId", "workspace_id", "workspaceId")


@dataclass(frozen=True)
class RuleConfig:
    """What the rules are told beyond the data (config issue: pyproject or --config)."""

    thresholds: dict[str, dict] = field(default_factory=dict)  # rule id -> overrides
    tenant_keys: tuple[str, ...] = TENANT_KEYS
    global_collections: frozenset[str] = frozenset()  # namespaces exempt from tenant rules
    sources_of_truth: dict[str, str] = field(default_factory=dict)  # "db.coll.path" -> "db.coll[.path]"


def register(rule: Rule) -> Rule:
    RULES[rule.id] = rule
    return rule


def _register_checks() -> None:
    from nosql_advisor.rules import (  # noqa: F401  (importing registers the checks)
        audit, duplication, evolution, identity, invariants, privacy, references, scale, strings, tenancy, workload, writes)


def thresholds_of(rule_id: str, config: RuleConfig) -> dict:
    """A rule's default thresholds updated by the config's."""
    return {**RULES[rule_id].thresholds, **config.thresholds.get(rule_id, {})}


def run_rules(landscape, config: RuleConfig = RuleConfig()) -> list[Finding]:
    """Every registered check, with its thresholds as configured."""
    _register_checks()
    findings: list[Finding] = []
    for rule in list(RULES.values()):
        if rule.check is not None:
            findings.extend(rule.check(landscape, thresholds_of(rule.id, config), config))
    return findings


def all_rules() -> list[Rule]:
    _register_checks()
    from nosql_advisor.rules import catalogue  # noqa: F401 - then the metadata of the rules not checked here

    return [RULES[key] for key in sorted(RULES)]
