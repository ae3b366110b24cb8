"""Tenancy rules from the shape and the index list: DM301, DM302, DM303, DM305 (DM304, from the
workload, is in workload.py and reads `keyed_collections` from here).

The tenant key is decided per database, not per collection: the candidate (RuleConfig.tenant_keys)
that most of its tenant-scoped collections carry, ties broken by the configured order. Decided
per collection, a collection carrying both `tenant_id` and `account_id` in every document took
whichever came first, so its indexes were held to the wrong key and its skew measured on users.

A candidate whose values are the `_id`s of a per-user collection of the same database is a
reference to a user, not a tenant key (`account_id` pointing at `accounts`, one document per user),
and takes no part in the vote. "Refers to" is DM201's measure (rules/duplication.py: the share of
the field's values found among the other collection's `_id`s, by value fingerprints). "Per user":
the referenced documents carry a tenant key of their own (they belong to a tenant), or, when the
database holds another candidate, a login (`email`, `username`...) unique to each document.

A database is multi-tenant when most of its tenant-scoped collections carry a candidate. Exempt:
collections named in the config as global, a tenant registry (`tenants` for `tenant_id`,
`organizations` for `org_id`...) unless it carries another candidate (then it is the per-tenant
collection of users it looks like), and collections grouped per tenant by name (DM106: their
tenant is in the name).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from nosql_advisor.confidence import evidence_text, shape_share
from nosql_advisor.findings import Finding
from nosql_advisor.rules import RULES, Rule, RuleConfig, register, thresholds_of
from nosql_advisor.rules.duplication import containment, row_containment
from nosql_advisor.rules.scale import name_patterns

REGISTRIES = {"tenant": ("tenants",), "org": ("orgs", "organizations"), "organization": ("organizations",),
              "account": ("accounts",), "workspace": ("workspaces",)}
LOGIN_FIELDS = ("email", "username", "user_name", "userName", "login")


@dataclass
class TenantKey:
    """A multi-tenant database's tenant key, the collections held to it, and how it was decided."""

    database: str
    key: str
    collections: list  # its tenant-scoped collections (scan.Collection)
    votes: dict[str, int]  # candidate -> how many of those collections carry it
    references: dict[str, str] = field(default_factory=dict)  # candidate -> the per-user collection it points at


def candidates_of(collection, keys: tuple[str, ...]) -> list[str]:
    """The candidate keys present at the top level of a collection, in the configured order."""
    present = {f.path for f in collection.shape.fields if "." not in f.path and f.count}
    return [key for key in keys if key in present]


def registered_by(name: str, keys: tuple[str, ...]) -> set[str]:
    """The candidates whose registry a collection of this name is (`tenants` -> {tenant_id})."""
    found = set()
    for key in keys:
        stem = key.replace("Id", "").replace("_id", "").lower()
        if name in REGISTRIES.get(stem, (stem + "s",)):
            found.add(key)
    return found


def _exempt(collection, config, per_name: set[str]) -> bool:
    namespace = collection.info.namespace
    name = namespace.partition(".")[2]
    if namespace in config.global_collections or namespace in per_name:
        return True
    registers = registered_by(name, config.tenant_keys)
    return bool(registers) and not set(candidates_of(collection, config.tenant_keys)) - registers


def _scoped_by_database(landscape, config) -> dict[str, list]:
    grouped = name_patterns([c.info.namespace for c in landscape.collections], RULES["DM106"].thresholds["min_collections"])
    per_name = {f"{db}.{name}" for (db, _), names in grouped.items() for name in names}
    by_database: dict[str, list] = defaultdict(list)
    for collection in landscape.collections:
        if collection.shape.sampled and not _exempt(collection, config, per_name):
            by_database[collection.info.namespace.partition(".")[0]].append(collection)
    return by_database


def refers_to_ids(collection, key: str, target, thresholds: dict) -> bool:
    """Whether `collection.key`'s values are (almost all) `_id`s of `target`: DM201's measure."""
    mine, theirs = collection.shape.field(key), target.shape.field("_id")
    if mine is None or theirs is None or not mine.fingerprints or not theirs.fingerprints:
        return False
    least, enough = thresholds["min_distinct"], thresholds["min_containment"]
    share = containment(mine.fingerprints, theirs.fingerprints, least)
    if share is None or share < enough:
        share = row_containment(collection.shape.rows or [], key, theirs.fingerprints, least)
    return share is not None and share >= enough


def per_user(target, key: str, keys: tuple[str, ...], others_in_database: bool) -> bool:
    """Whether `target` holds one document per user: its documents belong to a tenant (they carry
    another candidate), or, when the database has another candidate to be its tenant key, each
    carries a login of its own."""
    fields = {f.path: f for f in target.shape.fields if "." not in f.path}
    sampled = target.shape.sampled
    if any(k != key and k in fields and fields[k].count * 2 >= sampled for k in keys):
        return True
    logins = [fields[name] for name in LOGIN_FIELDS if name in fields]
    return others_in_database and any(f.count * 2 >= sampled and f.distinct_estimate >= 0.95 * f.count for f in logins)


def reference_targets(landscape, database: str, collections: list, config) -> dict[str, str]:
    """Candidate -> the per-user collection of `database` whose `_id`s its values are."""
    thresholds = thresholds_of("DM201", config)
    in_database = [c for c in landscape.collections if c.info.namespace.partition(".")[0] == database]
    carried = {key for c in collections for key in candidates_of(c, config.tenant_keys)}
    found = {}
    for key in sorted(carried, key=config.tenant_keys.index):
        users = [t for t in in_database if per_user(t, key, config.tenant_keys, bool(carried - {key}))]
        for collection in (c for c in collections if key in candidates_of(c, config.tenant_keys)):
            target = next((t for t in users if t is not collection and refers_to_ids(collection, key, t, thresholds)), None)
            if target is not None:
                found[key] = target.info.namespace
                break
    return found


def tenant_keys(landscape, config) -> dict[str, TenantKey]:
    """Per multi-tenant database: its tenant key, decided by the majority of its collections."""
    decided = {}
    for database, collections in sorted(_scoped_by_database(landscape, config).items()):
        references = reference_targets(landscape, database, collections, config)
        carrying = [[k for k in candidates_of(c, config.tenant_keys) if k not in references] for c in collections]
        if sum(bool(keys) for keys in carrying) * 2 <= len(collections):
            continue  # most collections carry no tenant key: not a multi-tenant database
        votes = {key: sum(key in keys for keys in carrying) for key in config.tenant_keys}
        votes = {key: count for key, count in votes.items() if count}
        key = max(votes, key=lambda k: (votes[k], -config.tenant_keys.index(k)))
        decided[database] = TenantKey(database, key, collections, votes, references)
    return decided


def scoped_collections(landscape, config) -> dict[str, list]:
    """Per multi-tenant database, its tenant-scoped collections (the ones the rules hold to it)."""
    return {database: decided.collections for database, decided in tenant_keys(landscape, config).items()}


def keyed_collections(landscape, config):
    """(collection, the database's tenant key, its field shape) for every tenant-scoped collection
    that carries that key (in any share of its documents)."""
    for decided in tenant_keys(landscape, config).values():
        for collection in decided.collections:
            field_shape = collection.shape.field(decided.key)
            if field_shape is not None and field_shape.count:
                yield collection, decided.key, field_shape


def leading_key_per_database(landscape, keys: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """database -> (its tenant key,): the one candidate a recommended index leads with (DM401),
    so the advice agrees with DM303; databases that are not multi-tenant are absent."""
    return {database: (decided.key,) for database, decided in tenant_keys(landscape, RuleConfig(tenant_keys=keys)).items()}


def _other_keys(collection, decided: TenantKey, keys: tuple[str, ...]) -> str:
    """The candidates a collection carries instead of the database key, said for a message."""
    said = []
    for key in candidates_of(collection, keys):
        if key == decided.key:
            continue
        target = decided.references.get(key)
        said.append(f"'{key}' (a reference to {target}, not a tenant key)" if target else f"'{key}'")
    return ", ".join(said)


def missing_tenant_key(landscape, thresholds: dict, config) -> list[Finding]:
    """DM301: a tenant-scoped collection of a multi-tenant database without the database's key."""
    findings = []
    for decided in tenant_keys(landscape, config).values():
        carry = decided.votes[decided.key]
        for collection in decided.collections:
            if collection.shape.field(decided.key) is not None:
                continue
            others = _other_keys(collection, decided, config.tenant_keys)
            instead = f"carries {others} but not" if others else "no tenant key: neither"
            findings.append(Finding(
                "DM301", "high", collection.info.namespace, None,
                f"{instead} the database's tenant key '{decided.key}', which {carry} of "
                f"{len(decided.collections)} collections carry{'' if others else ', nor another'}.",
                {"tenant_key": decided.key, "collections_with_tenant_key": carry,
                 "collections": len(decided.collections), "votes": decided.votes,
                 "other_keys": [k for k in candidates_of(collection, config.tenant_keys) if k != decided.key],
                 "references": decided.references, "tenant_keys": list(config.tenant_keys),
                 "documents_read": collection.shape.sampled},
                f"Add '{decided.key}' to every document (and lead every index with it), or list the "
                "collection as global in the config if it is shared by all tenants on purpose."))
    return findings


def partial_tenant_key(landscape, thresholds: dict, config) -> list[Finding]:
    """DM302: the database's tenant key missing from part of a collection."""
    findings = []
    decided = tenant_keys(landscape, config)
    for collection, key, field_shape in keyed_collections(landscape, config):
        if field_shape.probability >= 1.0:
            continue
        shape = collection.shape
        missing = shape.sampled - field_shape.count
        missing_share = shape_share(shape, missing, shape.sampled)  # its 95% interval when sampled
        others = _other_keys(collection, decided[collection.info.namespace.partition(".")[0]], config.tenant_keys)
        also = f"; the collection also carries {others}, which is not the database's tenant key" if others else ""
        read = "documents (every document read)" if missing_share.get("exact") else "sampled documents"
        findings.append(Finding(
            "DM302", "high", collection.info.namespace, key,
            f"'{key}' is missing in {evidence_text(missing_share)} of {read} ({missing:,} of "
            f"{shape.sampled:,}): those documents belong to no tenant{also}.",
            {"missing": missing, "sampled": shape.sampled,
             "share_missing": round(1 - field_shape.probability, 6), "missing_share": missing_share,
             "tenant_key": key},
            "Backfill the tenant key and make it required in the validator, so every query's "
            "tenant filter sees every document."))
    return findings


def unprefixed_indexes(landscape, thresholds: dict, config) -> list[Finding]:
    """DM303: indexes of a tenant-scoped collection that do not start with the database's key."""
    findings = []
    for collection, key, _ in keyed_collections(landscape, config):
        for index in collection.info.indexes:
            fields = list(index.get("key", {}))
            if index.get("name") == "_id_" or not fields or fields[0] == key:
                continue
            findings.append(Finding(
                "DM303", "medium", collection.info.namespace, None,
                f"index {index.get('name')} {fields} does not start with '{key}', the database's "
                "tenant key: a query of one tenant scans every tenant's entries.",
                {"index": index.get("name"), "keys": fields, "tenant_key": key},
                f"Rebuild it as {{{key}: 1, ...}} so each tenant reads only its own part of the index."))
    return findings


def tenant_skew(landscape, thresholds: dict, config) -> list[Finding]:
    """DM305: one tenant (by the database's key) holds most of a collection's documents."""
    findings = []
    for collection, key, field_shape in keyed_collections(landscape, config):
        skew = field_shape.value_skew
        if not skew or skew["distinct"] < thresholds["min_tenants"] or skew["top_share"] < thresholds["top_share"]:
            continue
        findings.append(Finding(
            "DM305", "low", collection.info.namespace, key,
            f"one tenant holds {skew['top_share']:.0%} of the sampled documents "
            f"({skew['top_count']:,}), across {skew['distinct']:,} tenants.",
            {**skew, "tenant_key": key, "thresholds": thresholds},
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

