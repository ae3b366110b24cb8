"""Configuration: `[tool.nosql-advisor]` in pyproject.toml, or a TOML file given with --config.

```toml
[tool.nosql-advisor]
tenant_keys = ["tenant_id"]                 # default: DESIGN.md's list
global_collections = ["shop.tenants"]       # exempt from the tenant rules
baseline = "nosql-advisor-baseline.json"    # accepted findings: CI fails only on new ones

[tool.nosql-advisor.rules.DM101]
severity = "low"                            # any rule: its severity
p99_length = 500                            # any rule: its thresholds (`nosql-advisor rules`)

[tool.nosql-advisor.sources_of_truth]       # documented copies (DM201), beside schema descriptions
"shop.orders.customer" = "shop.customers"

[[tool.nosql-advisor.ignore]]
rule = "DM602"
namespace = "shop.coupons"                  # optional, glob
path = "..."                                # optional, glob
reason = "coupons are immutable"            # mandatory
```

The file is validated against CONFIG_SCHEMA, which schemas/config.schema.json renders.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import jsonschema

from nosql_advisor.errors import InputError
from nosql_advisor.findings import SEVERITIES, Finding
from nosql_advisor.rules import TENANT_KEYS, RuleConfig

RULE_ID = "^DM[1-7][0-9]{2}$"
CONFIG_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://nosql-advisor.invalid/schemas/config.schema.json",
    "title": "nosql-advisor configuration ([tool.nosql-advisor] or --config FILE)",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "tenant_keys": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        "global_collections": {"type": "array", "items": {"type": "string", "pattern": "^[^.]+\\..+$"}},
        "baseline": {"type": "string", "minLength": 1},
        "sources_of_truth": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^[^.]+\\..+$"}},
        "rules": {
            "type": "object",
            "propertyNames": {"pattern": RULE_ID},
            "additionalProperties": {
                "type": "object",
                "properties": {"severity": {"enum": list(SEVERITIES)}},
                "additionalProperties": {"type": "number"},
            },
        },
        "ignore": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["rule", "reason"],
                "additionalProperties": False,
                "properties": {
                    "rule": {"type": "string", "pattern": RULE_ID},
                    "namespace": {"type": "string"},
                    "path": {"type": "string"},
                    "reason": {"type": "string", "minLength": 3},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Ignore:
    rule: str
    reason: str
    namespace: str = "*"
    path: str = "*"

    def matches(self, finding: Finding) -> bool:
        return (finding.rule == self.rule and fnmatchcase(finding.namespace, self.namespace)
                and fnmatchcase(finding.path or "", self.path))


@dataclass(frozen=True)
class Config:
    origin: str | None = None  # the file it came from
    rules: RuleConfig = RuleConfig()
    severities: dict[str, str] = field(default_factory=dict)
    sources_of_truth: dict[str, str] = field(default_factory=dict)
    ignores: tuple[Ignore, ...] = ()
    baseline: Path | None = None


def load_config(path: Path | None = None, cwd: Path | None = None) -> Config:
    """The --config file, else ./pyproject.toml's [tool.nosql-advisor], else the defaults."""
    if path is None:
        pyproject = (cwd or Path.cwd()) / "pyproject.toml"
        if not pyproject.exists():
            return Config()
        tool = _read(pyproject).get("tool", {})
        if not isinstance(tool, dict):
            raise InputError(f"{pyproject}: 'tool' is not a table (pyproject.toml's [tool] holds one table per tool)")
        section = tool.get("nosql-advisor")
        return Config() if section is None else _parse(section, pyproject, "[tool.nosql-advisor]")
    data = _read(path)
    tool = data.get("tool")
    if isinstance(tool, dict) and "nosql-advisor" in tool:  # a pyproject.toml given with --config
        return _parse(tool["nosql-advisor"], path, "[tool.nosql-advisor]")
    return _parse(data, path, "")


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: not valid TOML ({error})") from None


def _parse(section: object, origin: Path, label: str = "[tool.nosql-advisor]") -> Config:
    """The checked configuration; any unknown key, anywhere (a rule's threshold included), or
    a value of the wrong type is one InputError naming the file, the key and what is allowed."""
    if not isinstance(section, dict):
        raise InputError(f"{origin}: {label or 'the file'} is not a table")
    errors = sorted(jsonschema.Draft202012Validator(config_schema()).iter_errors(section),
                    key=lambda e: [str(p) for p in e.path])
    if errors:
        first = errors[0]
        where = " ".join(part for part in (label, ".".join(str(p) for p in first.absolute_path)) if part)
        raise InputError(f"{origin}: {where + ': ' if where else ''}{first.message}{_known_keys(first)}")
    rules = section.get("rules", {})
    thresholds = {rule: {k: v for k, v in values.items() if k != "severity"} for rule, values in rules.items()}
    baseline = section.get("baseline")
    return Config(
        origin=str(origin),
        rules=RuleConfig(thresholds, tuple(section.get("tenant_keys", TENANT_KEYS)),
                         frozenset(section.get("global_collections", [])),
                         dict(section.get("sources_of_truth", {}))),
        severities={rule: values["severity"] for rule, values in rules.items() if "severity" in values},
        sources_of_truth=dict(section.get("sources_of_truth", {})),
        ignores=tuple(Ignore(**item) for item in section.get("ignore", [])),
        baseline=(origin.parent / baseline) if baseline else None,
    )


def apply_config(findings: list[Finding], config: Config) -> tuple[list[Finding], list[tuple[Finding, Ignore]]]:
    """Severity overrides, then ignores: returns the findings kept and the ones ignored (with why)."""
    kept, ignored = [], []
    for finding in findings:
        if finding.rule in config.severities:
            finding.severity = config.severities[finding.rule]
        match = next((rule for rule in config.ignores if rule.matches(finding)), None)
        if match is None:
            kept.append(finding)
        else:
            ignored.append((finding, match))
    return kept, ignored


def config_schema() -> dict:
    """CONFIG_SCHEMA with each rule's table spelled out: its severity and the thresholds the
    rule really has (nosql_advisor/rules), so a typo such as `p99_lenght` is refused."""
    from nosql_advisor.rules import all_rules

    rule_tables = {
        rule.id: {"type": "object", "additionalProperties": False,
                  "properties": {"severity": {"enum": list(SEVERITIES)},
                                 **{name: {"type": "number"} for name in sorted(rule.thresholds)}}}
        for rule in all_rules()}
    rules = {**CONFIG_SCHEMA["properties"]["rules"], "properties": rule_tables, "additionalProperties": False}
    return {**CONFIG_SCHEMA, "properties": {**CONFIG_SCHEMA["properties"], "rules": rules}}


def _known_keys(error: jsonschema.ValidationError) -> str:
    """For an unknown key: the keys allowed there (and the closest one), so a typo is plain."""
    if error.validator != "additionalProperties" or not isinstance(error.schema.get("properties"), dict):
        return ""
    known = sorted(error.schema["properties"])
    unknown = [key for key in error.instance if key not in known]
    close = difflib.get_close_matches(str(unknown[0]), known, n=1) if unknown else []
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"; known keys: {', '.join(known)}{hint}"


def render_schema() -> str:
    """schemas/config.schema.json, kept equal to the schema the code validates with by a test."""
    return json.dumps(config_schema(), indent=2) + "\n"
