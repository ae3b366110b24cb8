"""References between collections, and what rides on them: copies (DM201/DM202), references
stored with another type than the `_id` they name (DM203), and two-way id lists (DM204).

A field of X references Y when its values are (almost all) among the values of Y's `_id`, or of
a unique field of Y (a unique index in the metadata, or distinct values as many as documents in
the shape). That is decided on value fingerprints (each field's sketch of distinct values,
hashed with the run's random key: redact.py) and, where types differ, on the row samples'
canonical hashes (shape/rows.py: an ObjectId and its hex string hash alike there). No value is
kept or printed; evidence is counts.

Once a reference holds, the copies beside it are lined up document by document: every field of X
next to the reference (`customer_tier` beside `customer_id`), or inside the embedded object that
holds it or is named after it (`customer.tier` for `customer_id` or `customer._id`), is compared
with each field of the referenced document. A field is a copy when the joined documents agree far
above chance: the chance agreement is what two independent fields with these joined value
frequencies would show (Σ p_x(v)·p_y(v); a 4-valued field agrees about 1/4 of the time by chance),
and a copy needs (1) a chance-corrected agreement (Cohen's kappa, (a − chance)/(1 − chance)) of at
least `min_kappa`, and (2) a one-sided binomial test against the chance agreement whose p-value,
bounded from above by the Chernoff bound exp(−n·KL(a‖chance)), is at most `max_p_value`. So a
four-valued tier copied with a fifth drifted is a copy (kappa 0.73), and two random four-valued
fields that agree a quarter of the time are not (kappa ≈ 0), whatever their cardinality. A field
whose name does not say it is a copy (`shipping_country` beside `customer_id`) is one only when
(nearly) always equal, and then never drift (`named_as_copy`); numbers compare by value across
numeric types (shape/rows.py `comparable`).
"""

from __future__ import annotations

import math
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import chain

from nosql_advisor.findings import Finding
from nosql_advisor.rules import Rule, register
from nosql_advisor.shape.rows import CANONICAL, canonical, ids, ids_complete, is_text, typed

REFERENCE_DEFAULTS = {"min_containment": 0.8, "min_distinct": 20}
COPY_DEFAULTS = {"min_joined": 20, "min_agreement": 0.5, "min_kappa": 0.5, "max_p_value": 1e-6}
UNNAMED_COPY_AGREEMENT = 0.98  # a field not named as a copy is one only when (nearly) always equal
COMMON_VALUE_FIELDS = 64
KEY_TYPES = frozenset({"string", "objectId", "int", "long", "binData"})
ID_SUFFIXES = ("_id", "_ids", "Id", "Ids", "ID", "_ref", "Ref", "_key")


@dataclass(frozen=True)
class Reference:
    """X.path holds the values of Y.key: the join an extended reference or a $lookup uses."""

    source: str  # X namespace
    path: str  # X path
    target: str  # Y namespace
    key: str  # Y path: "_id" or a unique field
    containment: float  # share of X's values found among Y's
    measured_by: str  # "distinct values" | "sampled documents" | "text forms of sampled documents"
    found: int  # values (or documents) of X found among Y's
    considered: int  # values (or documents) of X that could have been

    @property
    def join(self) -> str:
        """`customer_id -> shop.customers._id`, as the evidence names it."""
        return f"{self.path} -> {self.target}.{self.key}"

    def evidence(self) -> dict:
        """How the reference was established: the share of X's values found among Y's, on what."""
        return {"containment": self.containment, "measured_by": self.measured_by, "found": self.found,
                "considered": self.considered}


@dataclass(frozen=True)
class Copy:
    """X.path copies Y.source_path, measured on `joined` documents lined up through `reference`."""

    reference: Reference
    path: str
    source_path: str
    joined: int  # joined documents holding both fields
    equal: int
    chance: float  # agreement two independent fields with these value frequencies would show
    kappa: float
    p_value: float  # upper bound (Chernoff) of the one-sided binomial test against `chance`
    by_name: bool = True  # named as a copy (`named_as_copy`); else decided on values alone (no DM202)

    @property
    def differ(self) -> int:
        return self.joined - self.equal

    @property
    def chance_said(self) -> str:
        """The chance agreement in words: `25%`, or `under 1%` for an email's."""
        return f"{self.chance:.0%}" if self.chance >= 0.005 else "under 1%"

    def evidence(self) -> dict:
        return {"copy_of": f"{self.reference.target}.{self.source_path}", "joined_through": self.reference.join,
                "reference": self.reference.evidence(),
                "joined": self.joined, "differ": self.differ, "share": round(self.differ / self.joined, 4),
                "chance_agreement": round(self.chance, 4), "kappa": round(self.kappa, 4),
                "p_value_at_most": float(f"{self.p_value:.3g}"), "matched_by": "name" if self.by_name else "values"}


# -- the landscape's references ----------------------------------------------------------------

def references(landscape, thresholds: dict | None = None, config=None) -> list[Reference]:
    """Every reference between two collections of one database, `_id` references first: by
    fingerprints (the typed values), else by the row samples' text forms (a reference stored as
    another type). A unique key of Y serves only when X holds no reference to Y's `_id`."""
    thresholds = {**REFERENCE_DEFAULTS, **(thresholds or {})}
    key = ("references", thresholds["min_containment"], thresholds["min_distinct"],
           tuple(getattr(config, "tenant_keys", ())))
    return _memo(landscape, key, lambda: _references(landscape, thresholds, config))


def _references(landscape, thresholds: dict, config) -> list[Reference]:
    tenant_keys = set(getattr(config, "tenant_keys", ()))
    by_namespace = {c.info.namespace: c for c in landscape.collections}
    found: dict[tuple, Reference] = {}
    for (source, target), pairs in sorted(value_matches(landscape, thresholds).items()):
        unique = unique_keys(by_namespace[target])
        to_id = [p for p in pairs if p[1] == "_id"]
        if to_id:
            chosen = to_id
        else:
            chosen = [p for p in pairs if p[1] in unique and p[0] not in tenant_keys and p[1] not in tenant_keys]
            chosen = sorted(chosen, key=lambda p: (-p[2], p[0]))[:1]
        for path, key, share, field, _, by in chosen:
            found[(source, path, target, key)] = Reference(
                source, path, target, key, share, by, *_counts(by_namespace[source], field, share, by))
    for reference in text_references(landscape, thresholds):
        found.setdefault((reference.source, reference.path, reference.target, reference.key), reference)
    return sorted(found.values(), key=lambda r: (r.source, r.target, r.key != "_id", r.path))


def _counts(collection, field, share: float, by: str) -> tuple[int, int]:
    """(found, considered) behind a containment: distinct values held, or sampled documents."""
    if by == "sampled documents":
        considered = sum(field.path in row for row in collection.shape.rows or [])
    else:
        considered = len(field.fingerprints[0]) if field.fingerprints else 0
    return round(share * considered), considered


def reference_at(landscape, namespace: str, path: str) -> Reference | None:
    """The reference `namespace.path` holds, if any (the tenancy rules ask: a candidate tenant
    key that holds another collection's `_id`s is a reference, not a tenant key)."""
    return next((r for r in references(landscape) if (r.source, r.path) == (namespace, path)), None)


def unique_keys(collection) -> set[str]:
    """Y's fields that name one document each: `_id`, single-field unique indexes, and fields of
    key-like types with as many distinct values as documents holding them (in the shape)."""
    keys = {"_id"}
    for index in collection.info.indexes:
        fields = list(index.get("key") or {})
        if index.get("unique") and len(fields) == 1:
            keys.add(fields[0])
    for field in collection.shape.fields:
        if field.count and field.array is None and set(field.types) <= KEY_TYPES \
                and field.distinct_estimate >= 0.95 * field.count:
            keys.add(field.path)
    return keys


# -- by fingerprints: the typed values -----------------------------------------------------------

def containment(a: tuple[list[int], bool, float], b: tuple[list[int], bool, float], least: int) -> float | None:
    """Share of A's distinct values that are among B's, estimated from the fingerprints. Both
    hold the values whose stable hash falls in the lowest `share` of the hash space; a value of
    A can only be found in B when it falls in B's part, so A's values are counted in the part
    both cover (all of A's when B's is the larger)."""
    hashes, complete, share = b
    if not a[0] or not hashes:
        return None
    considered = len(a[0]) * (1.0 if complete else min(1.0, share / a[2]))
    if considered < least:
        return None
    return min(1.0, len(set(a[0]).intersection(hashes)) / considered)


def row_containment(rows: list[dict], path: str, b: tuple[list[int], bool, float], least: int) -> float | None:
    """Share of A's sampled documents whose value at `path` is among B's values. Weighted by
    documents, not distinct values: when most copies name a few sources (a top commenter) and a
    tail names sources the sample of B lacks, this is the share a reader of A would see. When B
    holds only part of its values, the documents of A counted are the expected share of them."""
    hashes, complete, share = b
    values = [typed(row, path) for row in rows if path in row]  # typed: as the fingerprints hash values
    considered = len(values) * (1.0 if complete else share)
    if considered < least:
        return None
    held = set(hashes)
    return min(1.0, sum(h in held for h in values) / considered)


def _candidates(landscape, least: int):
    for collection in landscape.collections:
        for field in collection.shape.fields:
            if field.fingerprints and field.distinct_estimate >= least:
                yield collection, field


def value_matches(landscape, thresholds: dict) -> dict[tuple[str, str], list[tuple]]:
    """(X namespace, Y namespace) -> [(X path, Y path, containment, X field, Y field, measured by)]
    above the threshold: by distinct values, or failing that by X's sampled documents."""
    thresholds = {**REFERENCE_DEFAULTS, **thresholds}
    key = ("matches", thresholds["min_containment"], thresholds["min_distinct"])
    return _memo(landscape, key, lambda: _value_matches(landscape, thresholds))


def _value_matches(landscape, thresholds: dict) -> dict[tuple[str, str], list[tuple]]:
    least = thresholds["min_distinct"]
    fields = [(c.info.namespace, f, c.shape.rows or []) for c, f in _candidates(landscape, least)]
    owners = defaultdict(list)  # hash -> indexes into fields of the fields that hold it
    for number, (_, field, _) in enumerate(fields):
        for h in field.fingerprints[0]:
            owners[h].append(number)
    for h, holders in owners.items():
        if len(holders) > COMMON_VALUE_FIELDS:
            holders.clear()  # a value many fields hold (0, 1, "", a flag) says nothing of copying
    found = defaultdict(list)
    for namespace, field, rows in fields:
        if field.path == "_id":
            continue
        hits = Counter(chain.from_iterable(map(owners.__getitem__, field.fingerprints[0])))  # counted in C
        database = namespace.partition(".")[0]
        ranked = sorted(((-count, fields[n][0], fields[n][1].path, n) for n, count in hits.items()
                         if fields[n][0] != namespace and fields[n][0].partition(".")[0] == database))
        for minus_count, target, path, number in ranked[:5]:
            if -minus_count < least * thresholds["min_containment"]:
                break
            other = fields[number][1]
            share, by = containment(field.fingerprints, other.fingerprints, least), "distinct values"
            if share is None or share < thresholds["min_containment"]:
                share, by = row_containment(rows, field.path, other.fingerprints, least), "sampled documents"
            if share is not None and share >= thresholds["min_containment"]:
                found[(namespace, target)].append((field.path, path, round(share, 4), field, other, by))
    return found


# -- by text forms: a reference stored as another type ---------------------------------------------

def text_references(landscape, thresholds: dict) -> list[Reference]:
    """References to `_id` found on the row samples' canonical hashes where some of the typed
    values do not match (hex strings naming ObjectIds, digit strings naming ints): the references
    whose types all agree are the fingerprints' to find. Y's row sample holds a known share of Y's
    documents, so X's documents are counted against that share of them. Digits naming ints are
    taken for a reference only when the field's name says it is one (`product_id`): small numbers
    coincide, 24-hex ObjectIds do not."""
    least = thresholds["min_distinct"]
    found = []
    forms_of: dict[str, dict] = {}  # namespace -> its rows' forms by path, read once
    for target in landscape.collections:
        rows = target.shape.rows or []
        id_forms = {canonical(row, "_id"): is_text(row, "_id") for row in rows if "_id" in row}
        if len(id_forms) < least:
            continue
        held = len(rows) / max(target.shape.sampled, len(rows))
        database = target.info.namespace.partition(".")[0]
        named_only = "objectId" not in target.shape.field("_id").types
        for source in landscape.collections:
            if source is target or source.info.namespace.partition(".")[0] != database:
                continue
            namespace = source.info.namespace
            if namespace not in forms_of:  # paths of too few distinct values can be no reference
                forms_of[namespace] = {path: forms for path, forms in _forms_by_path(source.shape.rows or []).items()
                                       if len({form for form, _ in forms}) >= least}
            for path, forms in forms_of[namespace].items():
                if named_only and not reference_like_name(path, target.info.namespace):
                    continue
                reference = _text_reference(source, path, target, forms, id_forms, held, thresholds)
                if reference is not None:
                    found.append(reference)
    return found


def _text_reference(source, path: str, target, forms: list[tuple[int, bool]], id_forms: dict[int, bool],
                    held: float, thresholds: dict) -> Reference | None:
    considered = len(forms) * held
    if considered < thresholds["min_distinct"]:
        return None
    hits = [(text, id_forms[form]) for form, text in forms if form in id_forms]
    share = min(1.0, len(hits) / considered)
    if share < thresholds["min_containment"] or all(text == id_text for text, id_text in hits):
        return None
    return Reference(source.info.namespace, path, target.info.namespace, "_id", round(share, 4),
                     "text forms of sampled documents", len(hits), round(considered))


def _forms_by_path(rows: list[dict]) -> dict[str, list[tuple[int, bool]]]:
    """Path -> (text-form hash, whether the value is its own text form) of each sampled value."""
    forms = defaultdict(list)
    for row in rows:
        texts = row.get(CANONICAL, {})
        for path, value in row.items():
            if path[0] != "\x00" and path != "_id":
                forms[path].append((texts.get(path, value), path not in texts))
    return forms


def joined_rows(copy_rows: list[dict], source_rows: list[dict], reference: str, key: str) -> list[tuple[dict, dict]]:
    """Each sampled row of X whose `reference` resolves to a sampled row of Y (by Y's `key`),
    matched on text forms: a reference stored as a string still lines its copies up (DM203
    reports the type)."""
    index = {canonical(row, key): row for row in source_rows if key in row}
    return [(row, index[form]) for row in copy_rows if (form := canonical(row, reference)) in index]


# -- copies lined up through a reference ----------------------------------------------------------

def copies(landscape, thresholds: dict | None = None, config=None) -> list[Copy]:
    """Every field of X decided to be a copy of a field of Y through one of X's references (the
    first reference that decides a field wins: `_id` references first)."""
    return _lined_up(landscape, thresholds, config)[0]


def examined(landscape, thresholds: dict | None = None, config=None) -> set[tuple[str, str, str]]:
    """(X namespace, Y namespace, X path) of every field held against Y's fields on at least
    `min_joined` joined documents: there the joined documents' verdict (copy or not) stands over
    what the fingerprints say (equal value sets by chance: two fields drawn from one list)."""
    return _lined_up(landscape, thresholds, config)[1]


def _lined_up(landscape, thresholds: dict | None, config):
    thresholds = {**REFERENCE_DEFAULTS, **COPY_DEFAULTS, **(thresholds or {})}
    key = ("copies", *(thresholds[k] for k in (*REFERENCE_DEFAULTS, *COPY_DEFAULTS)),
           tuple(getattr(config, "tenant_keys", ())))
    return _memo(landscape, key, lambda: _copies(landscape, thresholds, config))


def _copies(landscape, thresholds: dict, config) -> tuple[list[Copy], set[tuple[str, str, str]]]:
    by_namespace = {c.info.namespace: c for c in landscape.collections}
    tenant_keys = set(getattr(config, "tenant_keys", ()))
    matched = value_matches(landscape, thresholds)
    decided: dict[tuple[str, str], Copy] = {}
    seen: set[tuple[str, str, str]] = set()
    for reference in references(landscape, thresholds, config):
        copy, origin = by_namespace[reference.source], by_namespace[reference.target]
        pairs = joined_rows(copy.shape.rows or [], origin.shape.rows or [], reference.path, reference.key)
        if len(pairs) < thresholds["min_joined"]:
            continue
        held = Counter(p for x, _ in pairs for p in x)
        seen.update((reference.source, reference.target, p) for p, n in held.items() if n >= thresholds["min_joined"])
        by_value = {p[0] for p in matched.get((reference.source, reference.target), [])}
        sources = sorted(p for p in _row_paths(origin.shape.rows or [])
                         if p not in ("_id", reference.key) and _leaf(p) not in tenant_keys)
        for path in sorted(beside(reference.path, _row_paths(copy.shape.rows or [])) | by_value):
            if (reference.source, path) in decided or path in ("_id", reference.path) or _leaf(path) in tenant_keys:
                continue
            found = best_copy(reference, pairs, path, sources, thresholds)
            if found is not None:
                decided[(reference.source, path)] = found
    return sorted(decided.values(), key=lambda c: (c.reference.source, c.path)), seen


def _row_paths(rows: list[dict]) -> set[str]:
    return {path for row in rows for path in row if path[0] != "\x00"}


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def stem(name: str) -> str:
    """`customer_id` -> `customer`: what the reference names."""
    for suffix in ID_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def beside(reference: str, paths: set[str]) -> set[str]:
    """The paths that ride with a reference: its siblings (`customer_tier` beside `customer_id`),
    everything in the embedded object that holds it (`customer.*` for `customer._id`), and
    everything in a sibling object named after it (`customer.*` for `customer_id`)."""
    parent, _, name = reference.rpartition(".")
    prefix = f"{parent}." if parent else ""
    named = f"{prefix}{stem(name)}."
    return {p for p in paths if p != reference and (
        (p.startswith(prefix) and "." not in p[len(prefix):]) or (parent and p.startswith(prefix))
        or p.startswith(named))}


def same_named(path: str, source_path: str, reference: str) -> bool:
    """`customer.tier`, `customer_tier`, `customerTier` and `tier` are all named as `tier`."""
    leaf, source_leaf, name = _leaf(path), _leaf(source_path), stem(_leaf(reference))
    return source_leaf in (leaf, leaf.removeprefix(f"{name}_"), _uncap(leaf.removeprefix(name)))


def _uncap(text: str) -> str:
    return text[:1].lower() + text[1:]


def named_as_copy(path: str, source_path: str, reference: str) -> bool:
    """Whether X.path's name says it copies Y.source_path: the same name (`same_named`), or a place
    inside the object the reference names (`customer.*` beside `customer_id`, or beside
    `customer._id`). `shipping_country` beside `customer_id` is not named as `country`: it may
    equal the customer's country most of the time and still be another fact."""
    if same_named(path, source_path, reference):
        return True
    parent, _, name = reference.rpartition(".")
    prefix = f"{parent}." if parent else ""
    inside_named = path.startswith(f"{prefix}{stem(name)}.") and stem(name) != name
    return inside_named or bool(parent and name in ("_id", "id") and path.startswith(prefix))


def best_copy(reference: Reference, pairs, path: str, sources: list[str], thresholds: dict) -> Copy | None:
    """The field of Y that X.path copies, if any: of the fields the joined documents agree with
    far above chance, the same-named one, else the one they agree with most. A field not named as
    a copy of it (`named_as_copy`) counts only at UNNAMED_COPY_AGREEMENT: matched by value alone,
    a correlation (a shipping country that is mostly the customer's) is not taken for a copy."""
    decided = []
    for source_path in sources:
        measured = agreement_against_chance(pairs, path, source_path)
        if measured is None:
            continue
        joined, equal, chance = measured
        if joined < thresholds["min_joined"] or chance >= 1:
            continue
        share = equal / joined
        kappa = (share - chance) / (1 - chance)
        p_value = chernoff_p_value(joined, share, chance)
        by_name = named_as_copy(path, source_path, reference.path)
        if share >= thresholds["min_agreement"] and kappa >= thresholds["min_kappa"] \
                and p_value <= thresholds["max_p_value"] and (by_name or share >= UNNAMED_COPY_AGREEMENT):
            decided.append(Copy(reference, path, source_path, joined, equal, chance, kappa, p_value, by_name))
    return max(decided, key=lambda c: (c.by_name, same_named(path, c.source_path, reference.path), c.kappa,
                                       c.joined, c.source_path), default=None)


def agreement_against_chance(pairs, path: str, source_path: str) -> tuple[int, int, float] | None:
    """(joined documents holding both, how many are equal, the agreement expected by chance from
    the two sides' value frequencies over those documents)."""
    both = [(x[path], y[source_path]) for x, y in pairs if path in x and source_path in y]
    if not both:
        return None
    left, right = Counter(a for a, _ in both), Counter(b for _, b in both)
    chance = sum(count * right[value] for value, count in left.items()) / len(both) ** 2
    return len(both), sum(a == b for a, b in both), chance


def chernoff_p_value(n: int, share: float, chance: float) -> float:
    """Upper bound of P(at least share·n agreements of n | each agrees with probability `chance`):
    exp(−n·KL(share‖chance)), 1 when the share is not above chance."""
    if share <= chance:
        return 1.0
    if chance <= 0:
        return 0.0
    kl = share * math.log(share / chance)
    if share < 1:
        kl += (1 - share) * math.log((1 - share) / (1 - chance))
    return math.exp(-n * kl)


# -- memo: every rule of one run asks for the same references ----------------------------------------

_memos: dict[int, tuple[weakref.ref, dict]] = {}


def _memo(landscape, key: tuple, compute):
    entry = _memos.get(id(landscape))
    if entry is None or entry[0]() is not landscape:
        for stale in [k for k, (ref, _) in _memos.items() if ref() is None]:
            del _memos[stale]
        entry = _memos[id(landscape)] = (weakref.ref(landscape), {})
    if key not in entry[1]:
        entry[1][key] = compute()
    return entry[1][key]


# -- DM203: a reference stored as another type than the _id it names ---------------------------------

def mistyped_references(landscape, thresholds: dict, config) -> list[Finding]:
    """References to `_id` whose joined documents hold the value as another type than the `_id`
    (a hex string for an ObjectId, digits for an int): they join only on the text form, and
    $lookup or an equality filter compares types first, so those documents find nothing."""
    by_namespace = {c.info.namespace: c for c in landscape.collections}
    findings = []
    for reference in references(landscape, thresholds, config):
        if reference.key != "_id":
            continue
        source, target = by_namespace[reference.source], by_namespace[reference.target]
        pairs = joined_rows(source.shape.rows or [], target.shape.rows or [], reference.path, "_id")
        mistyped = sum(is_text(x, reference.path) != is_text(y, "_id") for x, y in pairs)
        if len(pairs) < thresholds["min_joined"] or not mistyped or mistyped / len(pairs) < thresholds["min_share"]:
            continue
        if not _object_id_target(target) and not (
                reference_like_name(reference.path, reference.target)
                and _covers_ids(pairs, reference.path, target, thresholds["min_distinct"])):
            continue  # small numbers coincide: counts in the range of int _ids are no reference
        findings.append(_mistyped_finding(reference, source, target, len(pairs), mistyped))
    return findings


def _object_id_target(target) -> bool:
    """Whether the referenced `_id`s are ObjectIds: 24-hex values coincide with them by no chance,
    so containment alone proves the reference; digits and short strings do coincide."""
    field = target.shape.field("_id")
    return field is not None and set(field.types) == {"objectId"}


def reference_like_name(path: str, target: str) -> bool:
    """Whether the field's name says it references `target`: an id suffix (`thread_id`, `threadId`,
    `thread_ref`, `post_ids`), an `_id`/`id` inside an object, or the referenced collection's name
    in the singular (`thread` for forum.threads). `likes` and `position` are counts, not references."""
    leaf = _leaf(path)
    if leaf in ("_id", "id") or stem(leaf) != leaf:
        return True
    return leaf.lower() in _singulars(target.partition(".")[2].lower())


def _singulars(name: str) -> set[str]:
    forms = {name}
    if name.endswith("ies"):
        forms.add(f"{name[:-3]}y")
    if name.endswith("es"):
        forms.add(name[:-2])
    if name.endswith("s"):
        forms.add(name[:-1])
    return forms


MIN_ID_COVERAGE = 0.2  # share of Y's sampled _ids a reference with few distinct values must name


def _covers_ids(pairs, path: str, target, min_distinct: int) -> bool:
    """Whether the joined values are many (at least `min_distinct` distinct) or name a meaningful
    part (MIN_ID_COVERAGE) of Y's sampled `_id`s: a handful of small numbers merely overlaps."""
    distinct = len({canonical(x, path) for x, _ in pairs})
    held = len({canonical(row, "_id") for row in target.shape.rows or [] if "_id" in row})
    return distinct >= min_distinct or (held > 0 and distinct / held >= MIN_ID_COVERAGE)


def _mistyped_finding(reference: Reference, source, target, joined: int, mistyped: int) -> Finding:
    held = source.shape.field(reference.path)
    id_types = target.shape.field("_id").types
    types = held.types if held is not None else {}
    other = sorted(set(types) - set(id_types)) or sorted(types)
    share = round(mistyped / joined, 4)
    return Finding(
        "DM203", "high", reference.source, reference.path,
        f"'{reference.path}' names {reference.target}._id ({', '.join(sorted(id_types))}) but holds it as "
        f"{', '.join(other)} in {share:.1%} of the documents joined ({mistyped:,} of {joined:,}, joined on the "
        "text form): $lookup and equality filters compare BSON types first, so those documents find nothing.",
        {"joined_through": reference.join, "reference": reference.evidence(), "joined": joined,
         "mistyped": mistyped, "share": share,
         "types": types, "referenced_id_types": id_types, "measured_by": "row samples joined on text forms"},
        f"Convert the stored values to the _id's type (an updateMany with $convert/$toObjectId on "
        f"'{reference.path}' where $type is {other[0]}), and add a validator requiring that bsonType, so new "
        "writes cannot bring the string form back.")


register(Rule("DM203", "reference stored with another BSON type than the referenced _id", "high",
              "stable identifiers", mistyped_references,
              {**REFERENCE_DEFAULTS, "min_joined": 20, "min_share": 0.01}))


# -- DM204: two collections that list each other's ids ------------------------------------------------

def two_way_references(landscape, thresholds: dict, config) -> list[Finding]:
    """X.a lists Y's `_id`s and Y.b lists X's: neither side owns the relationship, and every write
    that updates one list and not the other leaves the pair one-sided. Only when the two lists
    agree far above chance (`both_ways_against_chance`): members and admins are two relationships."""
    by_namespace = {c.info.namespace: c for c in landscape.collections}
    lists = [r for r in references(landscape, thresholds, config)
             if r.key == "_id" and _is_array(by_namespace[r.source], r.path)]
    findings = []
    for forth in lists:
        for back in lists:
            if (back.source, back.target) == (forth.target, forth.source) and forth.source < forth.target:
                measured = one_sided_pairs(by_namespace[forth.source].shape.rows or [], forth.path,
                                           by_namespace[back.source].shape.rows or [], back.path)
                against = both_ways_against_chance(measured)
                if against is not None:
                    findings.append(_two_way_finding(forth, back, {**measured, **against}, thresholds["min_pairs"]))
    return findings


TWO_WAY_MIN_KAPPA = 0.3  # chance-corrected agreement of the two lists that makes them one relationship
TWO_WAY_MAX_P_VALUE = 1e-6


def both_ways_against_chance(measured: dict) -> dict | None:
    """Whether the two lists describe one relationship: of the pairs the shorter side lists, the
    share the other side lists too, held against the share it would list by chance (its pairs
    over every pair of sampled documents). Two lists of different relationships (members and
    admins) share pairs only at about that rate. None when not far above chance (kappa at least
    TWO_WAY_MIN_KAPPA and a Chernoff-bounded binomial p-value at most TWO_WAY_MAX_P_VALUE)."""
    possible = measured["documents_x"] * measured["documents_y"]
    shorter, longer = sorted((measured["listed_by_source"], measured["listed_by_target"]))
    if not shorter or not possible:
        return None
    share, chance = min(1.0, measured["listed_both_ways"] / shorter), longer / possible
    if chance >= 1:
        return None
    kappa, p_value = (share - chance) / (1 - chance), chernoff_p_value(shorter, share, chance)
    if kappa < TWO_WAY_MIN_KAPPA or p_value > TWO_WAY_MAX_P_VALUE:
        return None
    return {"agreement": round(share, 4), "chance_agreement": round(chance, 4), "kappa": round(kappa, 4),
            "p_value_at_most": float(f"{p_value:.3g}")}


def _is_array(collection, path: str) -> bool:
    field = collection.shape.field(path)
    return field is not None and field.array is not None


def one_sided_pairs(x_rows: list[dict], a: str, y_rows: list[dict], b: str) -> dict:
    """Of the pairs (x, y) of sampled documents where one lists the other, how many the other
    side does not list back. A pair is judged only when the side that omits it carried its whole
    list (shape/rows.py's budget)."""
    x_index = {canonical(row, "_id"): row for row in x_rows if "_id" in row}  # ids() holds text forms
    y_index = {canonical(row, "_id"): row for row in y_rows if "_id" in row}
    x_lists = {(xh, yh) for xh, x in x_index.items() for yh in ids(x, a) if yh in y_index}
    y_lists = {(xh, yh) for yh, y in y_index.items() for xh in ids(y, b) if xh in x_index}
    only_x = [p for p in x_lists - y_lists if ids_complete(y_index[p[1]], b)]
    only_y = [p for p in y_lists - x_lists if ids_complete(x_index[p[0]], a)]
    both = len(x_lists & y_lists)
    return {"pairs": both + len(only_x) + len(only_y), "listed_both_ways": both,
            "listed_only_by_source": len(only_x), "listed_only_by_target": len(only_y),
            "listed_by_source": len(x_lists), "listed_by_target": len(y_lists),
            "documents_x": len(x_index), "documents_y": len(y_index)}


def _two_way_finding(forth: Reference, back: Reference, measured: dict, min_pairs: int) -> Finding:
    one_sided = measured["listed_only_by_source"] + measured["listed_only_by_target"]
    evidence = {"references": [f"{forth.source}.{forth.join}", f"{back.source}.{back.join}"], **measured}
    severity = "medium" if one_sided else "low"  # in sync today: a duplication, not yet a drift
    if measured["pairs"] >= min_pairs:
        evidence["share"] = round(one_sided / measured["pairs"], 4)
        said = (f"{one_sided:,} of {measured['pairs']:,} sampled pairs ({evidence['share']:.1%}) are listed on one "
                "side only" if one_sided else
                f"all {measured['pairs']:,} sampled pairs are listed on both sides (in sync today; every write "
                "must keep it so)")
    else:
        said = f"too few pairs in the row samples to measure how far the lists disagree ({measured['pairs']})"
    return Finding(
        "DM204", severity, forth.source, forth.path,
        f"'{forth.path}' lists {forth.target}._id and {back.source}.{back.path} lists {back.target}._id "
        f"back: neither side owns the relationship; {said}.",
        evidence,
        f"Keep the relationship on one side only (the side whose list stays bounded, or a link collection "
        f"of ({forth.source.partition('.')[2]}, {forth.target.partition('.')[2]}) pairs with a unique index), "
        "and read the other direction with a query on it; until then update both lists in one transaction.")


register(Rule("DM204", "two collections reference each other both ways (no owner)", "medium",
              "explicit ownership", two_way_references, {**REFERENCE_DEFAULTS, "min_pairs": 20}))
