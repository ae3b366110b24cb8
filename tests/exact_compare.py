"""Hold an `--exact` shape to the client-side truth, figure by figure.

The truth is `infer_shape` over every document of the collection, read back from the server
with a plain find as raw BSON (its size is `len(raw)`, decoded as the live reader decodes:
`sources.base.CODEC_OPTIONS` and `legacy_types.decode_one`). The exact shape is what the
server's aggregation gave. `compare` lines the two up as rows of figure / client / exact /
equal, so a test can assert on the differing rows and print the whole table.

A figure the exact pass declares it could not compute (`shape.exact["fallbacks"]`) or took from
its first sample (`shape.exact["from_sample"]`) is not held to equality: its row is kept and
printed with the reason, so what was left out is visible, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient

from nosql_advisor.shape import CollectionShape, FieldShape
from nosql_advisor.shape.infer import infer_shape
from nosql_advisor.sources.base import CODEC_OPTIONS, split_namespace
from nosql_advisor.sources.legacy_types import decode_one

RAW_CODEC = CODEC_OPTIONS.with_options(document_class=RawBSONDocument)

COLLECTION_FIGURES = ("sampled", "document_size", "id_types", "created_range", "created_per_month",
                      "max_depth")
FIELD_FIGURES = ("count", "types", "probability", "array.count", "array.lengths",
                 "array.element_types", "array.nesting", "string_length", "number_range",
                 "date_range", "objectid_time_range", "fractional_doubles")
PRESENT = "present"  # the row saying whether a path is in the shape at all


@dataclass
class Row:
    """One figure of one collection: `where` is "" for the collection, else the field path."""

    namespace: str
    where: str
    figure: str
    client: object
    exact: object
    excluded: str | None = None  # why it is not held to equality (a fallback, from the sample)

    @property
    def equal(self) -> bool:
        return self.client == self.exact


@dataclass
class Comparison:
    namespace: str
    rows: list[Row] = field(default_factory=list)

    @property
    def differing(self) -> list[Row]:
        """Rows held to equality that are not equal: what the test fails on."""
        return [row for row in self.rows if row.excluded is None and not row.equal]

    @property
    def excluded(self) -> list[Row]:
        return [row for row in self.rows if row.excluded is not None]

    def summary(self) -> str:
        paths = sum(1 for row in self.rows if row.figure == PRESENT)
        held = len(self.rows) - len(self.excluded)
        return (f"{self.namespace}: {paths} paths, {held} figures compared, {held - len(self.differing)} "
                f"equal, {len(self.differing)} differ, {len(self.excluded)} excluded")


def client_side_shape(client: MongoClient, namespace: str) -> CollectionShape:
    """The truth: client-side inference over every document, read back with a plain find."""
    database, name = split_namespace(namespace)
    collection = client.get_database(database, codec_options=RAW_CODEC)[name]
    return infer_shape(read_back(collection), namespace, collection.estimated_document_count())


def read_back(collection) -> Iterator[tuple[dict, int]]:
    """Every document with its BSON size, as the live reader hands them to inference."""
    for raw in collection.find({}):
        data = bytes(raw.raw)
        yield decode_one(data, CODEC_OPTIONS), len(data)


def compare(truth: CollectionShape, exact: CollectionShape) -> Comparison:
    """Every figure of the collection and of each path of either shape, client against exact."""
    declared = declared_exclusions(exact)
    comparison = Comparison(truth.namespace)
    for figure in COLLECTION_FIGURES:
        comparison.rows.append(_row(truth.namespace, "", figure, getattr(truth, figure),
                                    getattr(exact, figure), declared))
    mine = {f.path: f for f in truth.fields}
    theirs = {f.path: f for f in exact.fields}
    for path in sorted(mine.keys() | theirs.keys()):
        comparison.rows.extend(_field_rows(truth.namespace, path, mine.get(path), theirs.get(path), declared))
    return comparison


def declared_exclusions(exact: CollectionShape) -> dict[str, str]:
    """figure -> why the exact pass did not compute it: its fallbacks and what it took from
    the sample. Keys are figure names (`document_size`, `array.lengths`, `array`), optionally
    prefixed with a path and a colon (`tags:string_length`)."""
    notes = exact.exact or {}
    found = {name: "from the sample" for name in notes.get("from_sample") or ()}
    found.update({name: f"fallback: {why}" for name, why in (notes.get("fallbacks") or {}).items()})
    return found


def _field_rows(namespace: str, path: str, mine: FieldShape | None, theirs: FieldShape | None,
                declared: dict[str, str]) -> list[Row]:
    rows = [_row(namespace, path, PRESENT, mine is not None, theirs is not None, declared)]
    if mine is None or theirs is None:
        return rows  # the presence row says it; no figure to line up
    for figure in FIELD_FIGURES:
        rows.append(_row(namespace, path, figure, figure_of(mine, figure), figure_of(theirs, figure), declared))
    return rows


def figure_of(shape: FieldShape, figure: str) -> object:
    """A field's figure by name; `array.x` is the array part's x (None when not an array)."""
    head, _, part = figure.partition(".")
    value = getattr(shape, head)
    if part:
        return None if value is None else getattr(value, part)
    return value


def _row(namespace: str, where: str, figure: str, client: object, exact: object,
         declared: dict[str, str]) -> Row:
    return Row(namespace, where, figure, client, exact, exclusion(where, figure, declared))


def exclusion(where: str, figure: str, declared: dict[str, str]) -> str | None:
    """Why this figure is not held to equality, if the exact pass said so: by its own name, by
    the part it belongs to (`array` for `array.lengths`), each bare or for this path only."""
    head = figure.partition(".")[0]
    for name in (figure, head):
        for key in (f"{where}:{name}" if where else name, name):
            if key in declared:
                return declared[key]
    return None


def table(rows: list[Row], width: int = 60) -> str:
    """The rows as a fixed-width table: where / figure / client / exact / equal (or why not held)."""
    lines = [f"{'path':<32} {'figure':<22} {'client':<{width}} {'exact':<{width}} equal"]
    for row in rows:
        verdict = f"excluded ({row.excluded})" if row.excluded else ("yes" if row.equal else "NO")
        lines.append(f"{row.where or '(collection)':<32} {row.figure:<22} {_cut(row.client, width):<{width}} "
                     f"{_cut(row.exact, width):<{width}} {verdict}")
    return "\n".join(lines)


def _cut(value: object, width: int) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 1] + "…"
