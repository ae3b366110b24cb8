"""Tenancy rules from the shape and the index list: DM301, DM302, DM303.

A database is multi-tenant when most of its collections carry a tenant key at the top level.
Exempt: collections named in the config as global, the tenant registry itself (`tenants` for
`tenant_id`, `organizations` for `org_id`...), and collections already grouped per tenant by
name (DM106: their tenant is in the name).
"""

from __future__ import annotations

from collections import defaultdict

from nosql_advisor.findings import Finding
from nosql_advisor.rules import RULES, Rule, register
from nosql_advisor.rules.scale import name_patterns

REGISTRIES = {"tenant": ("tenants",), "org": ("orgs", "organizations"), "organization": ("organizations",),
              "account": ("accounts",), "workspace": ("workspaces",)}


def tenant_key_of(collection, keys: tuple[str, ...]) -> str | None:
    present = [f for f in collection.shape.fields if "." not in f.path and f.path in keys]
    return max(present, key=lambda f: f.count).path if present else None


def _registry_names(keys: tuple[str, ...]) -> set[str]:
    names = set()
    for key in keys:
        stem = key.replace("Id", "").replace("_id", "").lower()
        names.update(REGISTRIES.get(stem, (stem + "s",)))
    return names


def scoped_collections(landscape, config) -> dict[str, list]:
    """Per multi-tenant database, its tenant-scoped collections (the ones the rules hold to it)."""
    grouped = name_patterns([c.info.namespace for c in landscape.collections], RULES["DM106"].thresholds["min_collections"])
    per_name = {f"{db}.{name}" for (db, _), names in grouped.items() for name in names}
    registries = _registry_names(config.tenant_keys)
    by_database: dict[str, list] = defaultdict(list)
    for collection in landscape.collections:
        namespace = collection.info.namespace
        database, _, name = namespace.partition(".")
        if namespace in config.global_collections or name in registries or namespace in per_name:
            continue
        if collection.shape.sampled:
            by_database[database].append(collection)
    keyed = {db: cs for db, cs in by_database.items()
             if sum(tenant_key_of(c, config.tenant_keys) is not None for c in cs) > len(cs) / 2}
    return keyed


def keyed_collections(landscape, config):
    """(collection, tenant key, its field shape) for every tenant-scoped collection that has one."""
    for collections in scoped_collections(landscape, config).values():
        for collection in collections:
            key = tenant_key_of(collection, config.tenant_keys)
            if key is not None:
                yield collection, key, collection.shape.field(key)


def missing_tenant_key(landscape, thresholds: dict, config) -> list[Finding]:
    """DM301: a tenant-scoped collection of a multi-tenant database with no tenant key."""
    findings = []
    for database, collections in scoped_collections(landscape, config).items():
        keyed = sum(tenant_key_of(c, config.tenant_keys) is not None for c in collections)
        for collection in collections:
            if tenant_key_of(collection, config.tenant_keys) is None:
                findings.append(Finding(
                    "DM301", "high", collection.info.namespace, None,
                    f"no tenant key ({', '.join(config.tenant_keys[:2])}...) in a database where "
                    f"{keyed} of {len(collections)} collections carry one.",
                    {"collections_with_tenant_key": keyed, "collections": len(collections),
                     "tenant_keys": list(config.tenant_keys), "documents_read": collection.shape.sampled},
                    "Add the tenant key to every document (and lead every index with it), or list the "
                    "collection as global in the config if it is shared by all tenants on purpose."))
    return findings


def partial_tenant_key(landscape, thresholds: dict, config) -> list[Finding]:
    """DM302: a tenant key missing from part of a collection."""
    findings = []
    for collection, key, field in keyed_collections(landscape, config):
        if field.probability < 1.0:
            missing = collection.shape.sampled - field.count
            findings.append(Finding(
                "DM302", "high", collection.info.namespace, key,
                f"'{key}' is missing in {missing:,} of {collection.shape.sampled:,} sampled documents "
                f"({1 - field.probability:.1%}): those documents belong to no tenant.",
                {"missing": missing, "sampled": collection.shape.sampled, "share_missing": round(1 - field.probability, 6)},
                "Backfill the tenant key and make it required in the validator, so every query's "
                "tenant filter sees every document."))
    return findings


def unprefixed_indexes(landscape, thresholds: dict, config) -> list[Finding]:
    """DM303: indexes of a tenant-scoped collection that do not start with its tenant key."""
    findings = []
    for collection, key, _ in keyed_collections(landscape, config):
        for index in collection.info.indexes:
            fields = list(index.get("key", {}))
            if index.get("name") == "_id_" or not fields or fields[0] == key:
                continue
            findings.append(Finding(
                "DM303", "medium", collection.info.namespace, None,
                f"index {index.get('name')} {fields} does not start with '{key}': a query of one "
                "tenant scans every tenant's entries.",
                {"index": index.get("name"), "keys": fields, "tenant_key": key},
                f"Rebuild it as {{{key}: 1, ...}} so each tenant reads only its own part of the index."))
    return findings


def tenant_skew(landscape, thresholds: dict, config) -> list[Finding]:
    """DM305: one tenant holds most of a tenant-scoped collection's documents."""
    findings = []
    for collection, key, field in keyed_collections(landscape, config):
        skew = field.value_skew
        if not skew or skew["distinct"] < thresholds["min_tenants"] or skew["top_share"] < thresholds["top_share"]:
            continue
        findings.append(Finding(
            "DM305", "low", collection.info.namespace, key,
            f"one tenant holds {skew['top_share']:.0%} of the sampled documents "
            f"({skew['top_count']:,}), across {skew['distinct']:,} tenants.",
            {**skew, "thresholds": thresholds},
            "Plan for the largest tenant: shard on a key that starts with the tenant key and "
            "spreads it (tenant_id + a hashed or time component), watch its indexes' size, "
            "and consider moving it to its own cluster when it keeps growing."))
    return findings


register(Rule("DM305", "tenant skew: one tenant holds most documents", "low", "scale drivers", tenant_skew,
              {"top_share": 0.5, "min_tenants": 3}))
register(Rule("DM301", "collection with no tenant key in a multi-tenant database", "high",
              "security & access", missing_tenant_key))
register(Rule("DM302", "tenant key missing in part of a collection", "high", "security & access",
              partial_tenant_key))
register(Rule("DM303", "index not prefixed by the tenant key", "medium", "security & access, indexing",
              unprefixed_indexes))
