"""`--exact`: the shape of every document of a live collection, computed by the server.

The sampling pass runs first, as without --exact: it gives what only values can (distinct
estimates, value detectors, rows, invariants, array growth, type times). Then one aggregation
(exact_pipeline.py) walks every document on the server and answers counts per path, type, array
nesting and length bucket; no document travels. The answer fills shape/infer.py's `_Node`
accumulators and goes through its own `_field_shape`, so an exact figure is computed by the very
code that computes a client-side one, from the same counts. The result is the same
CollectionShape, `method` "exact", with `exact` saying what the pass did.

The walk goes as deep as the pipeline was built for (object levels, array nesting: the sample's,
plus one). When the server reports objects or arrays below that, the pass is run again deeper,
at most MAX_PASSES times in all; `exact["passes"]` says how many ran.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from bson import ObjectId
from pymongo.errors import OperationFailure, PyMongoError

from nosql_advisor.errors import EXIT_OK, Problem
from nosql_advisor.exact_pipeline import DEEP, MONTH, OBJECTS, exact_pipeline
from nosql_advisor.shape.infer import DECIMAL_BITS, _field_shape, _Node, _oid_range, _utc, decimal128_float
from nosql_advisor.shape.model import CollectionShape, FieldShape, PathCap
from nosql_advisor.shape.stats import Histogram
from nosql_advisor.sources import live
from nosql_advisor.sources.base import CODEC_OPTIONS, CollectionInfo

MAX_PASSES = 4
DEEPER = 3  # each further pass walks this many times deeper: 2, 6, 18, then DEEPEST
DEEPEST = 101  # MongoDB holds 100 nesting levels below a document: the last pass walks all of them
# what the exact pass cannot compute cheaply on the server and keeps from the sampling pass
FROM_SAMPLE = ["distinct_estimate", "fingerprints", "string_values", "singletons", "unseen_chance", "detected",
               "examined", "value_skew", "type_times", "array.growth", "rows", "invariants", "evolution",
               "validation"]
# the FieldShape attributes copied from the sampled field (the values' figures)
SAMPLED_FIELD_FIGURES = ("distinct_estimate", "fingerprints", "string_values", "singletons", "unseen_chance",
                         "detected", "examined", "value_skew", "type_times")
# operators probed once per server; without the first there is no exact pass at all
REQUIRED = "$objectToArray"
PROBES = {  # over constants: a probe must not fail on what a document holds (an int _id is no date)
    "$objectToArray": {"$objectToArray": {"$literal": {"a": 1}}},
    "$bsonSize": {"$bsonSize": {"$literal": {"a": 1}}},  # MongoDB 4.4+
    "$toDate": {"$toDate": ObjectId("000000000000000000000000")},  # MongoDB 4.0+
}
FALLBACKS = {
    "$bsonSize": ("document_size", "the server has no $bsonSize (MongoDB 4.4+): document sizes are from the sample"),
    "$toDate": ("created_per_month",
                "the server has no $toDate (MongoDB 4.0+): documents per month are from the sample"),
}
NUMBERS = frozenset({"int", "long", "double", "decimal"})
# what a server answers for an expression operator it does not know: InvalidPipelineOperator (168),
# "Unknown expression" inside an invalid $project (31325), older servers' "invalid operator" (15999)
UNKNOWN_OPERATOR = frozenset({168, 31325, 15999})
UNKNOWN_WORDS = ("unrecognized expression", "unknown expression", "invalid operator")


class Operators:
    """Which optional operators the server knows: asked once per scan (several collections are
    read at once, so the first asks and the others wait for its answer). `one_at_a_time`: the
    exact passes of a scan run one after the other (each is a full collection scan on the
    server; the sampling of other collections goes on meanwhile)."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.known: set[str] | None = None
        self.one_at_a_time = asyncio.Lock()

    async def of(self, reader: live.Reader, namespace: str) -> set[str]:
        async with self.lock:
            if self.known is None:
                self.known = {name for name, expression in PROBES.items()
                              if await _answers(reader, namespace, expression)}
            return self.known


async def _answers(reader: live.Reader, namespace: str, expression: dict) -> bool:
    """Whether a one-document `$project` with `expression` runs (an unknown operator fails when
    the pipeline is parsed, so an empty collection answers too). A failure that is not about the
    operator (the network) is raised."""
    command = {"aggregate": {"pipeline": [{"$limit": 1}, {"$project": {"_id": 0, "x": expression}}], "cursor": {}}}

    async def probe() -> None:
        cursor = await live.awaited(live.command_cursor(reader.client, namespace, command,
                                                        reader.options.max_time_ms))
        async for _ in cursor:
            pass

    try:
        await reader.attempt(probe)
        return True
    except OperationFailure as error:
        words = str(error).lower()
        if live.error_code(error) in UNKNOWN_OPERATOR or any(w in words for w in UNKNOWN_WORDS):
            return False
        raise


async def read_exact(reader: live.Reader, collection, options, reporter, operators: Operators,
                     sample_finished: bool = True) -> None:
    """Replace `collection.shape` (the sampling pass's) by the exact one. What stops the pass
    (max-docs, a server without $objectToArray, a failed or timed-out aggregation) leaves the
    sampled shape and says why: a note, or the collection marked as a failed read is (exit 4)."""
    info: CollectionInfo = collection.info
    if reader.skip_lost(info):
        return  # marked: not read, the server is lost
    if info.method == "full":
        return  # the sample read every document (a find): its figures are already exact
    sampled = collection.shape.sampled
    skipped = _not_read_exactly(info, sampled, options.max_docs, sample_finished)
    if skipped:
        info.problems.append(Problem(info.namespace, f"not read exactly: {skipped}; the shape is from the sample",
                                     EXIT_OK))
        return
    budget = None if options.max_docs is None else options.max_docs - sampled
    spend = getattr(options.throttle, "spend", None)
    try:
        known = await operators.of(reader, info.namespace)
        if REQUIRED not in known:
            info.problems.append(Problem(info.namespace, "not read exactly: the server has no $objectToArray "
                                         "(MongoDB 3.4.4+); the shape is from the sample", EXIT_OK))
            return
        async with operators.one_at_a_time:
            task = reporter.task(f"exact pass {info.namespace}", None)
            try:
                answer, passes = await run_passes(reader, info.namespace, collection.shape, known, budget, spend)
            finally:
                task.finish()
    except PyMongoError as error:
        failure = await reader.failure(error, "the exact pass (aggregate)", info.namespace, info)
        live.mark(info, live.ReadFailure(failure.status, f"{failure.reason}; the exact pass did not finish, so the "
                                         "shape is from the sample", failure.exit_code))
        return
    if answer.documents < sampled and await reader.exists(info) is False:
        live.mark(info, live.ReadFailure("dropped", f"dropped during the exact pass: it counted {answer.documents:,} "
                                         f"documents after {sampled:,} were sampled; the shape is from the sample"))
        return
    if budget is not None and answer.documents >= budget:
        info.problems.append(Problem(info.namespace, f"not read exactly: the collection grew past --max-docs "
                                     f"{options.max_docs:,} before its exact pass (the pass stopped at {budget:,} "
                                     f"documents after the {sampled:,} sampled); the shape is from the sample",
                                     EXIT_OK))
        return
    collection.shape = exact_shape(answer, collection.shape, known, options.max_paths, passes)
    info.method = "exact"
    _note_cap(info, collection.shape)
    for figure, why in collection.shape.exact["fallbacks"].items():
        info.problems.append(Problem(info.namespace, f"--exact: {why}", EXIT_OK))


def _not_read_exactly(info: CollectionInfo, sampled: int, max_docs: int | None, sample_finished: bool) -> str | None:
    """Why the exact pass is not run on this collection (None: it is)."""
    if not sample_finished:
        return "its sampling pass did not finish"
    if max_docs is None:
        return None
    if info.estimated_count is None:
        return f"its size is unknown (no count) and --max-docs {max_docs:,} is set"
    if info.estimated_count + sampled > max_docs:
        return (f"about {plural(info.estimated_count, 'document')} plus the {sampled:,} sampled would read more "
                f"than --max-docs {max_docs:,}")
    return None


def plural(n: int, word: str) -> str:
    """'1 document', '2 documents'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _note_cap(info: CollectionInfo, shape: CollectionShape) -> None:
    if shape.capped and not any("distinct paths" in problem.message for problem in info.problems):
        where = ", ".join(f"'{path or '(top level)'}' ({n})" for path, n in list(shape.capped.at.items())[:3])
        info.problems.append(Problem(
            info.namespace, f"more than {shape.capped.limit} distinct paths: {shape.capped.dropped_keys} key "
            f"occurrences not recorded, under {where}; raise --max-paths to see them", EXIT_OK))


async def run_passes(reader: live.Reader, namespace: str, sample: CollectionShape, known: set[str],
                     budget: int | None = None, spend=None) -> tuple[Answer, int]:
    """Run the aggregation, deeper each time the server says there is more below, until the
    walk reached the bottom (or MAX_PASSES ran: the answer says what is left, `unwalked`).
    Every pass reads every document: each is paid to `spend` (--rate), and with `budget`
    (--max-docs less the sample) the first is limited to it and no further pass starts that
    would read past it (the last complete pass's answer is kept, its `deep` fallback says why)."""
    levels, nesting = walk_depth(sample)
    spent, answer, passes = 0, None, 0
    for rung in range(1, MAX_PASSES + 1):
        if answer is not None and budget is not None and spent + answer.documents > budget:
            break
        pipeline = exact_pipeline(levels, nesting, known, None if budget is None else budget - spent)
        groups = await reader.attempt(lambda: _aggregate(reader, namespace, pipeline))
        answer, passes = tally(groups, nesting), rung
        spent += answer.documents
        if spend is not None:
            await spend(answer.documents)
        if not answer.deep and not answer.nested_below:
            break
        last = rung + 1 == MAX_PASSES  # the last rung walks as deep as a document can be
        if answer.deep:
            levels = DEEPEST if last else min(levels * DEEPER, DEEPEST)
        if answer.nested_below:
            nesting = DEEPEST if last else min(nesting * DEEPER, DEEPEST)
    return answer, passes


def walk_depth(sample: CollectionShape) -> tuple[int, int]:
    """Object levels and array nesting to build the pipeline for: what the sample held, and one
    more of each, so what the sample missed just below is found in the same pass."""
    levels = max((field.path.count(".") + 1 for field in sample.fields), default=0)
    nesting = max((field.array.nesting for field in sample.fields if field.array), default=0)
    return levels + 1, nesting + 1


async def _aggregate(reader: live.Reader, namespace: str, pipeline: list[dict]) -> list[dict]:
    command = {"aggregate": {"pipeline": pipeline, "cursor": {}, "allowDiskUse": True}}
    cursor = await live.awaited(live.command_cursor(reader.client, namespace, command,
                                                    reader.options.max_time_ms, CODEC_OPTIONS))
    return [group async for group in cursor]


@dataclass
class Answer:
    """The server's counts turned into infer.py accumulators: a `_Node` per path."""

    # a path is the tuple of its keys (a key may hold a dot: {"a.b": 1} is not {"a": {"b": 1}})
    nodes: dict[tuple, _Node] = field(default_factory=dict)
    parents: dict[tuple, tuple | None] = field(default_factory=dict)  # keys -> its parent's keys
    objects: Counter = field(default_factory=Counter)  # keys (None: top level) -> objects walked
    sizes: Histogram = field(default_factory=Histogram)
    months: Counter = field(default_factory=Counter)
    deep: int = 0  # objects below the last level walked
    nested_below: int = 0  # arrays at the last nesting level opened, whose elements were not read

    @property
    def documents(self) -> int:
        return self.objects[None]


def tally(groups: list[dict], nesting: int) -> Answer:
    answer = Answer()
    for group in groups:
        key, n = group["_id"], group["n"]
        kind = key.get("t")
        if kind == OBJECTS:
            answer.objects[_keys(key.get("p"))] += n
            if key.get("p") is None:  # documents, by BSON size
                _add_bucket(answer.sizes, key.get("b"), group)
        elif kind == MONTH:
            answer.months[key["k"]] += n
        elif kind == DEEP:
            answer.deep += group["ls"] or 0
        else:
            _add_values(answer, key, group, nesting)
    for path, node in answer.nodes.items():
        node.objects = answer.objects[path]
        node.depth = _depth(answer, path)
    return answer


def _depth(answer: Answer, path: str) -> int:
    """One more than the parent's (infer.py adds one more per array nesting level an object sits
    in, for the first occurrence it walks: the sample's depth is kept for the paths it held)."""
    depth, parent = 1, answer.parents[path]
    while parent is not None:
        depth, parent = depth + 1, answer.parents.get(parent)
    return depth


def _keys(parent) -> tuple | None:
    """A parent's keys as the server groups them (a list, None at the top level)."""
    return None if parent is None else tuple(parent)


def _node(answer: Answer, parent: tuple | None, key: str) -> _Node:
    keys = (key,) if parent is None else (*parent, key)
    node = answer.nodes.get(keys)
    if node is None:
        node = answer.nodes[keys] = _Node(".".join(keys), 0)
        answer.parents[keys] = parent
    return node


def _add_bucket(histogram: Histogram, bucket, group: dict) -> None:
    """One bucket row into a Histogram, as its add_many would have left it."""
    if bucket is None or group["lmin"] is None:
        return
    histogram.counts[int(bucket)] += group["n"]
    histogram.n += group["n"]
    histogram.total += int(group["ls"])
    histogram.min = group["lmin"] if histogram.min is None else min(histogram.min, group["lmin"])
    histogram.max = group["lmax"] if histogram.max is None else max(histogram.max, group["lmax"])


def _add_values(answer: Answer, key: dict, group: dict, nesting: int) -> None:
    """A (path, nesting, type, bucket) row: values (e 0) and array elements (e >= 1)."""
    node = _node(answer, _keys(key.get("p")), key["k"])
    kind, e, n = key["t"], key.get("e") or 0, group["n"]
    if e == 0:
        node.count += n
        node.types[kind] += n
        if kind == "double":
            node.fractional_doubles += group["f"]
    else:
        node.element_types[kind] += n
    if kind == "array":
        node.array_count += n
        node.nesting = max(node.nesting, e + 1)
        _add_bucket(node.lengths, key.get("b"), group)
        if e == nesting:
            answer.nested_below += n
    elif kind == "string":
        _add_bucket(node.strings, key.get("b"), group)
    elif group["vmin"] is not None:
        _add_range(node, kind, group["vmin"], group["vmax"])


def _add_range(node: _Node, kind: str, low, high) -> None:
    if kind in NUMBERS:
        low, high = (decimal128_float(DECIMAL_BITS(v)) if kind == "decimal" else v for v in (low, high))
        ends = ("number_min", "number_max")
    elif kind == "date":
        low, high, ends = _utc(low), _utc(high), ("date_min", "date_max")
    elif kind == "objectId":
        ends = ("oid_min", "oid_max")
    else:
        return
    current_low, current_high = getattr(node, ends[0]), getattr(node, ends[1])
    setattr(node, ends[0], low if current_low is None else min(current_low, low))
    setattr(node, ends[1], high if current_high is None else max(current_high, high))


def kept_paths(answer: Answer, sample_paths: set[str], max_paths: int) -> tuple[list[str], PathCap | None]:
    """The paths the shape holds under --max-paths: the sample's first (it kept them under the same
    cap), then the others by depth and name. A path left out is counted at its parent, as
    infer.py counts it, and what lies under it is not counted at all."""
    order = sorted(answer.nodes, key=lambda keys: (answer.nodes[keys].path not in sample_paths,
                                                    answer.nodes[keys].depth, answer.nodes[keys].path, len(keys)))
    kept: set[tuple] = set()
    dropped_at: Counter = Counter()
    for path in order:
        parent = answer.parents[path]
        if parent is not None and parent not in kept:
            continue
        if len(kept) >= max_paths:
            dropped_at[answer.nodes[parent].path if parent else ""] += answer.nodes[path].count
            continue
        kept.add(path)
    cap = PathCap(max_paths, sum(dropped_at.values()), dict(sorted(dropped_at.items()))) if dropped_at else None
    return sorted(kept, key=lambda keys: (answer.nodes[keys].path, len(keys))), cap


def exact_shape(answer: Answer, sample: CollectionShape, known: set[str], max_paths: int,
                passes: int) -> CollectionShape:
    """The CollectionShape of the whole collection: figures from the answer through infer.py's
    `_field_shape`, what only values give from the sample's fields (FROM_SAMPLE)."""
    paths, cap = kept_paths(answer, {f.path for f in sample.fields}, max_paths)
    sampled = _sampled_fields(sample, paths)
    root = _Node("", 0)
    root.objects = answer.documents
    fields = []
    for path in paths:
        node, parent = answer.nodes[path], answer.parents[path]
        shape = _field_shape(node, root if parent is None else answer.nodes[parent])
        _from_sample(shape, sampled.get(path))
        fields.append(shape)
    fallbacks = {figure: why for operator, (figure, why) in FALLBACKS.items() if operator not in known}
    if answer.deep or answer.nested_below:
        fallbacks["deep"] = (f"after {passes} passes, {answer.deep:,} objects and {answer.nested_below:,} nested "
                             "arrays lay deeper than the pass walked: their contents are not counted")
    id_node = answer.nodes.get(("_id",))
    found_only = [f.path for f in fields if f.found_only_by_exact]
    return CollectionShape(
        namespace=sample.namespace,
        sampled=answer.documents,
        documents_estimated=answer.documents,
        document_size=sample.document_size if "$bsonSize" not in known else answer.sizes.summary(),
        id_types=dict(sorted(id_node.types.items())) if id_node else {},
        created_range=_oid_range(id_node) if id_node else None,
        created_per_month=(sample.created_per_month if "$toDate" not in known
                           else dict(sorted(answer.months.items())) or None),
        max_depth=max((f.depth for f in fields), default=0),
        fields=fields,
        capped=cap,
        rows=sample.rows,
        invariants=sample.invariants,
        evolution=sample.evolution,
        method="exact",
        strata=sample.strata,
        exact={"passes": passes, "documents": answer.documents, "fallbacks": fallbacks,
               "found_only_by_exact": found_only, "from_sample": list(FROM_SAMPLE)},
    )


def _sampled_fields(sample: CollectionShape, paths: list[tuple]) -> dict[tuple, FieldShape]:
    """The sampled field of each exact path. Two paths can share a dotted name (a top-level key
    "a.b" and a -> b): those of one name pair up shallowest first, the sample's by depth."""
    by_name: dict[str, list[FieldShape]] = {}
    for seen in sorted(sample.fields, key=lambda f: f.depth):
        by_name.setdefault(seen.path, []).append(seen)
    matched = {}
    for keys in sorted(paths, key=len):
        fields = by_name.get(".".join(keys))
        if fields:
            matched[keys] = fields.pop(0)
    return matched


def _from_sample(shape: FieldShape, seen: FieldShape | None) -> None:
    """What only the values give, from the sampled field; a path the sample never held is
    marked found only by the exact pass."""
    if seen is None:
        shape.found_only_by_exact = True
        return
    shape.depth = seen.depth  # infer.py's depth of the first occurrence it walked
    for name in SAMPLED_FIELD_FIGURES:
        setattr(shape, name, getattr(seen, name))
    if shape.array is not None and seen.array is not None:
        shape.array.growth = seen.array.growth
