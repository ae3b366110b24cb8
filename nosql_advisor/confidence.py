"""How sure a sampled figure is: 95% intervals on shares, and the chance of an unseen value.

A share measured on a sample (a field present in 982 of 1,000 sampled documents) says little
alone: the same 98.2% from 50 documents is much less certain than from 50,000. Every share the
tool reports from a sample carries its Wilson score interval, which stays inside [0, 1] and
behaves at 0% and 100%, where the normal approximation claims a certainty it does not have.
When the sample is a large part of the collection, the finite population correction narrows
the interval (a sample of every document has none left). Decisions read the bound, not the
point: a field is called required when even the low end of its interval is high enough.
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the two-sided 95% quantile of the standard normal
EXACT_METHODS = frozenset({"full", "exact"})  # every document was read: a share is a count


def wilson_interval(hits: int, n: int, population: float | None = None) -> tuple[float, float]:
    """The 95% Wilson score interval of the share `hits / n` measured on a uniform sample of `n`
    out of `population` (None: a population so large the correction does not matter).

    The finite population correction scales the sample to its effective size
    n (N - 1) / (N - n): a sample that is most of the population is nearly exact, and one that is
    all of it (n >= N) is exact, so the interval is the point."""
    if n <= 0:
        return 0.0, 1.0
    share = hits / n
    if population is not None and n >= population:
        return share, share
    effective = n if population is None or population <= 1 else n * (population - 1) / (population - n)
    z2 = Z95 * Z95
    centre = (share + z2 / (2 * effective)) / (1 + z2 / effective)
    half = Z95 * math.sqrt(share * (1 - share) / effective + z2 / (4 * effective * effective)) / (1 + z2 / effective)
    low, high = max(0.0, centre - half), min(1.0, centre + half)
    # the point always lies inside (rounding can push an end past it at 0% or 100%)
    return min(low, share), max(high, share)


def share_interval(hits: int, n: int, population: float | None = None, digits: int = 4) -> dict:
    """`{"share", "ci"}` for a finding's evidence: the measured share and its 95% interval."""
    low, high = wilson_interval(hits, n, population)
    return {"share": round(hits / n, digits) if n else 0.0, "ci": [round(low, digits), round(high, digits)]}


def unseen_chance(singletons: int, n: int) -> float:
    """Good–Turing: the chance that the next value drawn is one the sample never held, estimated
    by the share of the sample made of values seen exactly once. A set of values is called closed
    (an enum) only when this is small."""
    return singletons / n if n else 1.0


def percent(share: float, digits: int = 1) -> str:
    """A share as a person reads it: 98.2%, and 99.95% rather than a rounded 100.0% (a share
    that is not all or nothing never reads as all or nothing: more places are shown, down to
    0.01%, past which it reads "<0.01%" / ">99.99%"). `digits` 0 gives the short form of a
    chart label: 98%, 99.6%."""
    value = share * 100
    for places in range(digits, max(digits, 2) + 1):
        text = f"{value:.{places}f}"
        if not 0 < share < 1 or float(text) not in (0.0, 100.0):
            return f"{text}%"
    return "<0.01%" if share < 0.5 else ">99.99%"


def share_text(share: float, ci: list[float] | tuple[float, float] | None, digits: int = 1) -> str:
    """"98.2% (96.9–99.0%)" ("98% (97–99%)" with `digits` 0); the share alone when it is exact
    (no interval)."""
    if not ci:
        return percent(share, digits)
    return f"{percent(share, digits)} ({percent(ci[0], digits).rstrip('%')}–{percent(ci[1], digits)})"


def parent_of(fields_by_depth: dict[int, dict], field):
    """The field `field` lies in: at one level up, the longest path that is a prefix of its path.
    Not `path.rsplit(".")`: a key may hold a dot (`{"p": {"q.r": 1}}` is the path p.q.r, one
    level under p), so the parent is found by depth."""
    candidates = fields_by_depth.get(field.depth - 1, {})
    cut = len(field.path)
    while (cut := field.path.rfind(".", 0, cut)) > 0:
        parent = candidates.get(field.path[:cut])
        if parent is not None:
            return parent
    return candidates.get("") if field.path.startswith(".") else None  # under the empty key ""


def parent_occurrences(fields_by_depth: dict[int, dict], field, documents: int) -> int:
    """How many times `field`'s parent occurred as an object in what was read: the documents
    for a top-level field, else the parent path's object values and object array elements (the
    count its `probability` is a share of)."""
    if field.depth <= 1:
        return documents
    parent = parent_of(fields_by_depth, field)
    if parent is None:
        return 0
    objects = parent.types.get("object", 0)
    if parent.array is not None:
        objects += parent.array.element_types.get("object", 0)
    return objects


def fields_by_depth(fields) -> dict[int, dict]:
    """{depth: {path: field}}: the index parent_of looks parents up in."""
    index: dict[int, dict] = {}
    for field in fields:
        index.setdefault(field.depth, {})[field.path] = field
    return index


def add_intervals(shape) -> None:
    """Give every field of a sampled shape its `probability_ci`; a shape read whole (`method`
    full or exact) has exact shares and none. The population of a field's parent is scaled from
    the sample by the collection's estimated size."""
    if shape.method in EXACT_METHODS:
        for field in shape.fields:
            field.probability_ci = None
            if shape.method == "full" and field.unseen_chance is not None:
                field.unseen_chance = 0.0  # every document read: the set of values read is the set
        return
    index = fields_by_depth(shape.fields)
    # a stratified sample (--stratify) is not a uniform one: its shares are of the sample, each age
    # bucket weighing alike, so no finite population correction scales them to the collection;
    # the interval keeps the sampling uncertainty for the decisions that read its low end
    scale = (shape.documents_estimated / shape.sampled
             if shape.documents_estimated and shape.sampled and not shape.strata else None)
    for field in shape.fields:
        n = parent_occurrences(index, field, shape.sampled)
        if n <= 0:
            field.probability_ci = None
            continue
        population = n * scale if scale is not None else None
        low, high = wilson_interval(field.count, n, population)
        field.probability_ci = [round(low, 6), round(high, 6)]


def lower_bound(field) -> float:
    """The low end of a field's presence: its interval's, or the share itself when exact."""
    return field.probability_ci[0] if field.probability_ci else field.probability


def shape_share(shape, hits: int, n: int) -> dict:
    """A finding's share measured on `shape`'s documents (`hits` of `n` values or documents):
    `{"share", "ci"}` with the 95% interval when the shape is a sample, the population scaled
    from the collection's estimated size (`n` out of `n * estimated / sampled`); `{"share",
    "exact": True}` when every document was read (method full or exact), where the share is a count."""
    if shape.method in EXACT_METHODS:
        return {"share": round(hits / n, 4) if n else 0.0, "exact": True}
    if getattr(shape, "strata", None):  # --stratify: a share of the sample, not of the collection
        return {"share": round(hits / n, 4) if n else 0.0, "stratified": True}
    scale = shape.documents_estimated / shape.sampled if shape.documents_estimated and shape.sampled else None
    return share_interval(hits, n, n * scale if scale is not None else None)


def evidence_text(share: dict) -> str:
    """`shape_share`'s result as a person reads it: "3.1% (2.2–4.3%)", "3.1% (exact)", or for
    a stratified sample, whose buckets weigh alike whatever they hold, a share with no interval
    that says it is not the collection's (an interval would read as the collection's share)."""
    if share.get("stratified"):
        return f"{percent(share['share'])} {STRATIFIED_WORDS}"
    return f"{percent(share['share'])} (exact)" if share.get("exact") else share_text(share["share"], share["ci"])


STRATIFIED_WORDS = "(of a stratified sample, each age bucket weighing alike: not the collection's share)"
