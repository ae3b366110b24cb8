"""The aggregation of `--exact`: every document of a collection walked by the server, path by path.

The pipeline walks each document as shape/infer.py does, level by level: the objects met at one
level (the document itself at level 0) have their keys listed with `$objectToArray`, each
key's value becomes a record, and the arrays among the values are opened up to `nesting` levels
(nested arrays are arrays of the same path, their object elements objects of that path, as in dot
notation). Records of object values become the next level's objects. The walk does not depend on
the paths the sample held: every key of every object is listed, so a key the sample missed is
counted too. Its depth is fixed when the pipeline is built (`levels`, `nesting`): what lies deeper
is counted (`deep` records, arrays at the last nesting level) so the caller can run one more pass.

One record per value, array element and walked object, then ONE `$group` by (parent path, key,
array nesting, `$type`, length bucket): the answer is a few rows per path and bucket, streamed as
a cursor (no 16 MiB `$facet` document), and the group spills to disk past the server's 100 MB per
stage (allowDiskUse). On a sharded cluster mongos runs everything before the `$group`, and the
`$group`'s partial sums, on each shard, and merges the partial groups.

Lengths (strings, arrays, document sizes) are grouped by the bucket shape/stats.Histogram keeps:
exact under 1024, above it rounded down to 10 significant bits, which `$floor`/`$divide`/
`$multiply` by a power of two compute exactly in doubles. The client fills a Histogram from the
bucket counts and their exact sum/min/max and calls `summary()`, so p50/p95/p99 are the figures a
client-side read of every document gives. Not `$percentile`: its only method is "approximate" (a
t-digest), whose ranks are not exact, so its p95 would not be the client's.

No `hint({$natural: 1})`: the pipeline starts with a full collection scan (no `$match`, no `$sort`),
which is what the planner does anyway; a hint would only matter before a filter.

Operators: $objectToArray (MongoDB 3.4.4) and `$$REMOVE` (3.6) are required; $bsonSize (4.4) and
$toDate (4.0) are probed (exact.py) and their figures fall back to the sample without them. On
SecantusDB, which evaluates every operator in Python, the pass reads a few hundred small
documents per second of CPU: a real mongod evaluates the same pipeline natively.
"""

from __future__ import annotations

from datetime import datetime

from nosql_advisor.shape.stats import EXACT_BELOW, SIGNIFICANT_BITS

# the datetimes Python can hold: PyMongo decodes others as DatetimeMS, which infer.py does not range
DATE_MIN, DATE_MAX = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999000)
LARGEST_BIT = 40  # lengths up to 2**41: past any BSON document (16 MiB) and its strings or arrays
# record kinds that are not values ("t" set when the record is made)
OBJECTS, MONTH, DEEP = "objects", "month", "deep"


def bucket(length: object) -> dict:
    """The Histogram bucket of a non-negative int expression (stats._bucket on the server)."""
    branches = [{"case": {"$lt": [length, EXACT_BELOW]}, "then": length}]
    for bit in range(SIGNIFICANT_BITS, LARGEST_BIT + 1):
        step = 2 ** (bit + 1 - SIGNIFICANT_BITS)
        branches.append({"case": {"$lt": [length, 2 ** (bit + 1)]},
                         "then": {"$multiply": [{"$floor": {"$divide": [length, step]}}, step]}})
    return {"$switch": {"branches": branches, "default": length}}


def finite(value: object) -> dict:
    """Not NaN nor an infinity (NaN sorts below every number in MongoDB's order)."""
    return {"$and": [{"$gt": [value, float("-inf")]}, {"$lt": [value, float("inf")]}]}


def is_dbref(pairs: str) -> dict:
    """Whether an object (as its `$objectToArray` pairs) decodes as a DBRef in PyMongo: a string
    `$ref`, an `$id`, and `$db` absent, null or a string. infer.py counts such an object as an
    object but does not walk into it, and neither does the pipeline."""
    def value_of(key: str) -> dict:
        return {"$filter": {"input": pairs, "as": "pair", "cond": {"$eq": ["$$pair.k", {"$literal": key}]}}}

    def type_of(key: str) -> dict:
        return {"$type": {"$arrayElemAt": [{"$map": {"input": value_of(key), "as": "pair", "in": "$$pair.v"}}, 0]}}

    present = lambda key: {"$gt": [{"$size": value_of(key)}, 0]}  # noqa: E731 (not $type "missing": SecantusDB)
    full = {"$and": [{"$eq": [type_of("$ref"), "string"]}, present("$id"),
                     {"$or": [{"$not": [present("$db")]}, {"$in": [type_of("$db"), ["null", "string"]]}]}]}
    keys = {"$map": {"input": pairs, "as": "pair", "in": "$$pair.k"}}
    return {"$cond": [{"$in": [{"$literal": "$ref"}, keys]}, full, False]}


def record(value: str, e: int, key: str = "$$k") -> dict:
    """The record of one value (the expression `value`) of key $$k in an object at $$path, met
    at array nesting `e` (0: the key's value itself, e: an element of an array at nesting e):
    its type, and only what the `$group` reads for that type: the length of a string or an
    array, the value for the ranges (not NaN, infinities, or dates Python cannot hold: infer.py
    leaves them out), whether a double value (not an element) is fractional, and the object
    itself for the next level. Branches test the common types first, and each record holds
    few fields: SecantusDB evaluates every operator in Python, per value."""
    base = {"p": "$$path", "k": key, "t": "$$t", **({"e": e} if e else {})}
    whole = {"$and": [finite(value), {"$eq": [value, {"$trunc": value}]}]}
    double = {**base, "v": {"$cond": [finite(value), value, "$$REMOVE"]}}
    if not e:
        double["f"] = {"$cond": [whole, 0, 1]}
    in_range = {"$and": [{"$gte": [value, DATE_MIN]}, {"$lte": [value, DATE_MAX]}]}
    branches = [  # the most common types first: a value pays one $eq per branch before its own
        ("string", {**base, "l": {"$strLenCP": value}}),
        ("int", {**base, "v": value}),
        ("objectId", {**base, "v": value}),
        ("double", double),
        ("object", {**base, "o": value}),
        ("date", {**base, "v": {"$cond": [in_range, value, "$$REMOVE"]}}),
        ("bool", base),
        ("array", {**base, "l": {"$size": value}}),
        ("null", base),
        ("long", {**base, "v": value}),
        ("decimal", {**base, "v": {"$cond": [finite(value), value, "$$REMOVE"]}}),
    ]
    switch = {"$switch": {"branches": [{"case": {"$eq": ["$$t", name]}, "then": then} for name, then in branches],
                          "default": base}}
    return {"$let": {"vars": {"t": {"$type": value}}, "in": switch}}


def element_records(array: str, e: int, nesting: int) -> dict | list:
    """The records of the elements of the array `array` (met at nesting e), at e + 1, and of
    the elements of the arrays among them, down to `nesting`; an array at the last level has
    its record (its length) but its elements are not opened: the caller counts such arrays
    (nested_below) and runs deeper. `$map` for the elements, then only the arrays among them
    are reduced: a long array of scalars costs one step per element, not a growing copy."""
    if e >= nesting:
        return []
    name = f"x{e + 1}"
    singles = {"$map": {"input": array, "as": name, "in": record(f"$${name}", e + 1)}}
    if e + 1 >= nesting:
        return singles
    arrays = {"$filter": {"input": array, "as": name, "cond": {"$isArray": f"$${name}"}}}
    nested = {"$reduce": {"input": arrays, "initialValue": [], "in": {"$let": {
        "vars": {name: "$$this"},
        "in": {"$concatArrays": ["$$value", element_records(f"$${name}", e + 1, nesting)]}}}}}
    return {"$concatArrays": [singles, nested]}


def _value_records(nesting: int) -> dict:
    """The records of every key of one object (its pairs in $$pairs, its path in $$path): one
    per value, then the elements of the arrays among them."""
    singles = {"$map": {"input": "$$pairs", "as": "kv", "in": record("$$kv.v", 0, "$$kv.k")}}
    if nesting < 1:
        return singles
    arrays = {"$filter": {"input": "$$pairs", "as": "kv", "cond": {"$isArray": "$$kv.v"}}}
    elements = {"$reduce": {"input": arrays, "initialValue": [], "in": {"$let": {
        "vars": {"k": "$$this.k", "v": "$$this.v"},
        "in": {"$concatArrays": ["$$value", element_records("$$v", 0, nesting)]}}}}}
    return {"$concatArrays": [singles, elements]}


def _records_of(objects: object, level: int, nesting: int, operators: frozenset[str] = frozenset()) -> dict:
    """Every record of `objects` ([{path, o}]): an `objects` record per walked object (its
    children's parent count; a document's carries its BSON size, where the server can say),
    then one per value and array element."""
    walked = {"$concatArrays": [[{"p": "$$path", "t": OBJECTS}], _value_records(nesting)]}
    if not level:  # the document itself, never a DBRef
        own = {"p": None, "t": OBJECTS, **({"l": {"$bsonSize": "$$ROOT"}} if "$bsonSize" in operators else {})}
        walked = {"$concatArrays": [[own], _value_records(nesting)]}
        return {"$let": {"vars": {"pairs": {"$objectToArray": "$$ROOT"}, "path": None}, "in": walked}}
    one_object = {"$let": {"vars": {"pairs": {"$objectToArray": "$$this.o"}, "path": "$$this.path"},
                           "in": {"$cond": [is_dbref("$$pairs"), [], walked]}}}
    # SecantusDB holds a DBRef as a value $objectToArray refuses; it sorts below {}, no document does
    one_object = {"$cond": [{"$lt": [{"$cmp": ["$$this.o", {"$literal": {}}]}, 0]}, [], one_object]}
    return {"$reduce": {"input": objects, "initialValue": [], "in": {"$concatArrays": ["$$value", one_object]}}}


def _objects_of(records: str, level: int) -> dict:
    """The next level's objects: the object values and elements among a level's records, each
    with its path as the list of its keys (a top-level key "a.b" is not the path a -> b)."""
    objects = {"$filter": {"input": records, "as": "r", "cond": {"$eq": ["$$r.t", "object"]}}}
    path = {"$concatArrays": ["$$r.p", ["$$r.k"]]} if level else ["$$r.k"]  # keys, not "."-joined: a key may hold a dot
    return {"$map": {"input": objects, "as": "r", "in": {"path": path, "o": "$$r.o"}}}


def document_records(operators: set[str]) -> list:
    """Per document: its ObjectId _id's month, where the server can say."""
    records = []
    if "$toDate" in operators:
        month = {"$dateToString": {"format": "%Y-%m", "date": {"$toDate": "$_id"}}}
        records.append({"$cond": [{"$eq": [{"$type": "$_id"}, "objectId"]}, [{"t": MONTH, "k": month}], []]})
    return records


def group_stage() -> dict:
    """One row per (parent path, key, nesting, type, length bucket); the records' objects
    (`o`) are not read."""
    return {"$group": {
        "_id": {"p": "$r.p", "k": "$r.k", "e": "$r.e", "t": "$r.t",
                "b": {"$cond": [{"$lt": ["$r.l", EXACT_BELOW]}, "$r.l", bucket("$r.l")]}},
        "n": {"$sum": 1}, "ls": {"$sum": "$r.l"}, "lmin": {"$min": "$r.l"}, "lmax": {"$max": "$r.l"},
        "vmin": {"$min": "$r.v"}, "vmax": {"$max": "$r.v"}, "f": {"$sum": "$r.f"},
    }}


def exact_pipeline(levels: int, nesting: int, operators: set[str], limit: int | None = None) -> list[dict]:
    """The whole pipeline: `levels` object levels walked, arrays opened `nesting` deep; with
    `limit` (what --max-docs leaves) a `$limit` first, so a collection that grew reads no more.

    One `$project` per level replaces the document by its walk so far (`R0` the records of its
    keys, `R1` those of the objects among them...): a stage holds one document's values a
    couple of times at most, never a whole collection. Then one record per document, value
    and element, unwound into the `$group`. ($project, not $set: $set copies the document.)"""
    kept = {"D": "$D"}
    stages: list[dict] = [] if limit is None else [{"$limit": max(limit, 1)}]
    stages.append({"$project": {"_id": 0, "R0": _records_of(None, 0, nesting, frozenset(operators)),
                                "D": {"$concatArrays": document_records(operators) or [[]]}}})
    for level in range(1, levels):
        kept[f"R{level - 1}"] = f"$R{level - 1}"
        stages.append({"$project": {**kept, f"R{level}": _records_of(_objects_of(f"$R{level - 1}", level - 1),
                                                                      level, nesting)}})
    below = {"$size": _objects_of(f"$R{levels - 1}", levels - 1)}  # objects the walk did not reach
    deep = {"$let": {"vars": {"d": below}, "in": {"$cond": [{"$gt": ["$$d", 0]}, [{"t": DEEP, "l": "$$d"}], []]}}}
    records = {"$concatArrays": ["$D", deep, *(f"$R{level}" for level in range(levels))]}
    stages.append({"$project": {"_id": 0, "r": records}})
    stages.append({"$unwind": "$r"})
    stages.append(group_stage())
    return stages
