"""From a scanned landscape to advice: findings and generated validators, per collection.

The order of work only; each step is a plain function in its own module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nosql_advisor.baseline import load_baseline, split_baseline
from nosql_advisor.config import Config, Ignore, apply_config
from nosql_advisor.findings import Finding, sorted_findings
from nosql_advisor.rules import run_rules
from nosql_advisor.rules.families import group_families
from nosql_advisor.rules.tenancy import tenant_keys
from nosql_advisor.rules.workload import index_advice_items, query_shape_items
from nosql_advisor.scan import Collection, Landscape
from nosql_advisor.schema.agree import disagreements
from nosql_advisor.schema.drift import compare, drift_findings
from nosql_advisor.schema.generate import GenerateOptions, generate_validator


@dataclass
class Advice:
    findings: list[Finding] = field(default_factory=list)
    validators: dict[str, dict] = field(default_factory=dict)  # namespace -> validator document
    schema_disagreements: dict[str, list[str]] = field(default_factory=dict)  # file vs server
    never_seen: dict[str, list[str]] = field(default_factory=dict)  # declared paths absent from the sample
    ignored: list[tuple[Finding, Ignore]] = field(default_factory=list)  # by the config, with its reason
    baselined: list[Finding] = field(default_factory=list)  # accepted in the baseline file
    index_advice: list[dict] = field(default_factory=list)  # report.json's index_advice (DM401's indexes)
    query_shapes: list[dict] = field(default_factory=list)  # the workload's top shapes (schema: query_shapes)
    tenant_keys: dict[str, str] = field(default_factory=dict)  # database -> its tenant key (the report's tenant skew)


SCHEMA_RULES = ("DM501", "DM502", "DM503", "DM504", "DM505")


def schema_drift(advice: Advice) -> list[Finding]:
    """The findings `diff` is about: the declared schema against the data."""
    return [f for f in advice.findings if f.rule in SCHEMA_RULES]


def advise(landscape: Landscape, generate: GenerateOptions = GenerateOptions(), config: Config = Config()) -> Advice:
    advice = Advice()
    for collection in landscape.collections:
        namespace = collection.info.namespace
        advice.findings += schema_findings(collection)
        if collection.shape.sampled:
            advice.validators[namespace] = generated_validator(collection, generate)
        declared = collection.declared
        if declared is not None and declared.schema is not None and collection.shape.sampled:
            missing = compare(collection.shape, declared.schema).never_seen
            if missing:
                advice.never_seen[namespace] = missing
        said = file_versus_server(collection)
        if said:
            advice.schema_disagreements[namespace] = said
    unchecked = landscape.not_checked()
    findings = sorted_findings([f for f in advice.findings + run_rules(landscape, config.rules)
                                if (f.namespace, f.rule) not in unchecked])  # no finding without evidence
    findings, advice.ignored = apply_config(findings, config)
    findings = group_families(findings, config.rules)  # one finding per family of collections
    if config.baseline is not None:
        findings, advice.baselined = split_baseline(findings, load_baseline(config.baseline))
    advice.findings = findings
    advice.index_advice = index_advice_items(landscape, config.rules)
    advice.query_shapes = query_shape_items(landscape)
    advice.tenant_keys = {database: decided.key for database, decided in tenant_keys(landscape, config.rules).items()}
    return advice


def schema_findings(collection: Collection) -> list[Finding]:
    return drift_findings(collection.shape, collection.server_validator, collection.declared,
                          collection.validation, collection.info.knows_metadata)


def generated_validator(collection: Collection, options: GenerateOptions) -> dict:
    """Generated from the shape; the declared schema's descriptions are carried over."""
    validator = generate_validator(collection.shape, options)
    declared = collection.declared
    if declared is not None and declared.schema is not None:
        _carry_descriptions(declared.schema, validator["$jsonSchema"])
    return validator


def _carry_descriptions(source: dict, target: dict) -> None:
    if not isinstance(source, dict) or not isinstance(target, dict):
        return
    if "description" in source and source is not target:
        target["description"] = source["description"]
    for key in ("properties",):
        for name, child in (source.get(key) or {}).items():
            if name in (target.get(key) or {}):
                _carry_descriptions(child, target[key][name])
    if isinstance(source.get("items"), dict) and isinstance(target.get("items"), dict):
        _carry_descriptions(source["items"], target["items"])


def file_versus_server(collection: Collection) -> list[str]:
    file, server = collection.declared, collection.server_validator
    if file is None or server is None or file is server or file.file is None:
        return []
    if file.schema is None or server.schema is None:
        return []
    return disagreements(file.schema, server.schema)
