"""Rules registered for their metadata: their findings come from elsewhere or a later module."""

from nosql_advisor.rules import RULES, Rule, register

CATALOGUE = [
    ("DM102", "growing array: length grows with document age", "medium", "scale drivers"),
    ("DM201", "duplicated data with no documented source of truth", "medium", "avoid duplication"),
    ("DM301", "collection with no tenant key in a multi-tenant database", "high", "security & access"),
    ("DM302", "tenant key missing in part of a collection", "high", "security & access"),
    ("DM303", "index not prefixed by the tenant key", "medium", "security & access, indexing"),
    ("DM304", "query without a tenant filter", "high", "security & access"),
    ("DM305", "tenant skew: one tenant holds most documents", "low", "scale drivers"),
    ("DM401", "index gap: frequent/slow query shape with no supporting index", "high", "indexing strategy"),
    ("DM402", "in-memory sort", "medium", "indexing strategy"),
    ("DM403", "unused index", "low", "indexing strategy"),
    ("DM404", "redundant index (prefix of another)", "low", "indexing strategy"),
    ("DM405", "too many indexes on one collection", "medium", "indexing strategy"),
    ("DM406", "frequent $lookup joins in the workload", "medium", "model the domain"),
    ("DM407", "case-insensitive regex query with no case-insensitive index", "medium", "indexing strategy"),
    ("DM501", "collection without a validator", "medium", "validation at boundaries"),
    ("DM502", "weak validation (validationAction warn, validationLevel off/moderate)", "low", "validation at boundaries"),
    ("DM503", "data violates the declared schema", "high", "invariants, schema evolution"),
    ("DM504", "undeclared fields", "low", "schema evolution"),
    ("DM505", "type drift: one field, several types (and when it changed)", "medium", "schema evolution"),
    ("DM601", "unstable identifier: _id derived from a mutable attribute", "medium", "stable identifiers"),
    ("DM602", "missing audit fields (created_at / updated_at)", "low", "auditability"),
    ("DM603", "soft delete with no retention (no TTL / partial index)", "medium", "auditability"),
    ("DM701", "sensitive data stored in clear (PII)", "high", "PII / secrets hygiene"),
    ("DM702", "secrets in data (plaintext passwords, API keys, private keys)", "critical", "PII / secrets hygiene"),
]

SCHEMA_DRIFT = {"DM501", "DM502", "DM503", "DM504", "DM505"}  # schema/drift.py, in the sampling pass

for rule_id, summary, severity, principle in CATALOGUE:
    if rule_id not in RULES:
        register(Rule(rule_id, summary, severity, principle,
                      checked_by="schema drift" if rule_id in SCHEMA_DRIFT else None))
