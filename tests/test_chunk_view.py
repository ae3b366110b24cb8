"""Rows, invariants (DM507) and versions (DM508) read a walked chunk only through its view
(`invariants.Chunk`), so the native engine, which keeps raw BSON, makes only the values they ask
for. Each case builds documents whose invariants, version split and rows are known from how they
were built, and checks every engine against those counts; a view without the optional methods,
and one that counts what it is asked, show what the tallies read.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import bson
import pytest
from bson import Decimal128, Int64, ObjectId

from nosql_advisor.shape.infer import ShapeBuilder
from nosql_advisor.shape.invariants import PythonChunk
from nosql_advisor.shape.rows import MISSING, RowSample
from nosql_advisor.shape.stats import stable_hashes
from nosql_advisor.shape.versions import FieldAge, Version
from nosql_advisor.sources.base import CODEC_OPTIONS

START = datetime.datetime(2025, 1, 1)
DAY = datetime.timedelta(days=1)
SUM = "total = Σ items.price × items.qty"
ORDER = "updated_at ≥ created_at"
PRESENCE = "shipped_at present iff status is 'shipped'"


def native_builder():
    try:
        from nosql_advisor.shape import native
    except ImportError:
        return None
    return native.NativeShapeBuilder if hasattr(native, "NativeChunk") else None


ENGINES = ["python", pytest.param("native", marks=pytest.mark.skipif(
    native_builder() is None, reason="native engine not built, or shape/native.py has no NativeChunk yet"))]


def built(engine: str, documents: list[dict], rows: int = 2000):
    """The shape of `documents` fed as one raw-BSON batch, as every source hands them."""
    builder = (ShapeBuilder if engine == "python" else native_builder())("shop.orders", rows=rows)
    encoded = [bson.encode(document, codec_options=CODEC_OPTIONS) for document in documents]
    starts, at = [], 0
    for raw in encoded:
        starts.append(at)
        at += len(raw)
    assert builder.add_raw(b"".join(encoded), starts) == []
    return builder.finish()


def object_id(day: int, number: int) -> ObjectId:
    moment = int((START + day * DAY).replace(tzinfo=datetime.timezone.utc).timestamp())
    return ObjectId(moment.to_bytes(4, "big") + number.to_bytes(8, "big"))


def order(number: int) -> dict:
    """Every order holds the same fields: total = Σ price × qty, updated 0-3 days after creation."""
    items = [{"price": 3 + (number + line) % 40, "qty": 1 + line % 3} for line in range(1 + number % 4)]
    created = START + (number % 90) * DAY
    return {"_id": object_id(number % 90, number), "created_at": created,
            "updated_at": created + (number % 4) * DAY, "status": "paid", "items": items,
            "total": sum(item["price"] * item["qty"] for item in items)}


def invariant(shape, statement: str):
    found = [found for found in shape.invariants if found.statement == statement]
    return found[0] if found else None


# -- invariants --------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_rectangular_chunk_counts_sums_and_orders_on_every_document(engine):
    """Every order has one layout: the sums and the dates are read from the walk's columns."""
    documents = [order(number) for number in range(600)]
    broken = [number for number in range(600) if number % 25 == 0]
    for number in broken:
        documents[number]["total"] += 1
    shape = built(engine, documents)
    found = invariant(shape, SUM)
    assert (found.applies, found.holds) == (600, 600 - len(broken))
    dates = invariant(shape, ORDER)
    equal = sum(1 for number in range(600) if number % 4 == 0)
    assert (dates.applies, dates.holds, dates.detail["equal"], dates.detail["strictly_later"]) == (600, 600, equal, 600 - equal)


def ragged_orders(nested_arrays: bool) -> tuple[list[dict], int, int]:
    """Orders of several forms: no items (every 10th from 3), empty items (from 7), a total that
    is a string (every 15th), a null note, and (`nested_arrays`) tags arrays in some items.
    Returns them, the orders the sum can be checked on, and how many of those break it."""
    documents, applies, breaking = [], 0, 0
    for number in range(600):
        document = order(number)
        if number % 10 == 3:
            del document["items"]
        elif number % 10 == 7:
            document["items"] = []
        if number % 15 == 0:
            document["total"] = "n/a"
        if number % 7 == 0:
            document["note"] = None
        if nested_arrays and number % 2:
            document["items"] = [{**item, "tags": ["gift", ["wrapped"]]} for item in document.get("items", [])] or document.get("items")
            if document["items"] is None:
                del document["items"]
        checkable = number % 10 not in (3, 7) and number % 15 != 0
        if checkable and number % 25 == 1:
            document["total"] += 2
            breaking += 1
        applies += checkable
        documents.append(document)
    return documents, applies, breaking


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("nested_arrays", [False, True], ids=["flat-items", "items-with-nested-arrays"])
def test_a_ragged_chunk_checks_the_sum_only_where_it_can_be_computed(engine, nested_arrays):
    documents, applies, breaking = ragged_orders(nested_arrays)
    found = invariant(built(engine, documents), SUM)
    assert (found.applies, found.holds) == (applies, applies - breaking)


@pytest.mark.parametrize("engine", ENGINES)
def test_mixed_number_types_sum_exactly(engine):
    """Prices as ints, longs, whole doubles and Decimal128 cents in one chunk; totals of the
    matching type; every one adds up, three are a cent off."""
    documents = []
    for number in range(300):
        cents = [Decimal(199 + number % 50) / 100, Decimal(5)]
        kind = number % 4
        if kind == 3:
            items = [{"price": Decimal128(price), "qty": 2} for price in cents]
            total = Decimal128(sum(cents) * 2 + (Decimal("0.01") if number in (3, 7, 11) else 0))
        else:
            make = (int, Int64, float)[kind]
            items = [{"price": make(7 + number % 9), "qty": 2}, {"price": make(1), "qty": 3}]
            total = make(2 * (7 + number % 9) + 3)
        documents.append({"_id": number, "items": items, "total": total})
    found = invariant(built(engine, documents), SUM)
    assert (found.applies, found.holds) == (300, 297)


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_and_null_dates_leave_the_order_to_the_documents_holding_both(engine):
    documents = [order(number) for number in range(400)]
    for number in range(0, 400, 5):
        documents[number]["updated_at"] = None
    for number in range(1, 400, 8):
        del documents[number]["created_at"]
    for number in (2, 4, 6):
        documents[number]["updated_at"] = documents[number]["created_at"] - DAY
    both = [d for d in documents if d.get("created_at") and d.get("updated_at")]
    dates = invariant(built(engine, documents), ORDER)
    assert (dates.applies, dates.holds) == (len(both), len(both) - 3)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_field_present_with_one_status_is_a_presence_invariant(engine):
    documents = []
    for number in range(500):
        status = ("new", "paid", "shipped")[number % 3]
        document = {"_id": number, "status": status, "note": "gift" if number % 7 == 0 else None}
        if status == "shipped" and number not in (2, 5, 8, 11):  # four shipped orders lack the date
            document["shipped_at"] = START + number * DAY
        if number == 1:
            document["shipped_at"] = None  # null is not present
        documents.append(document)
    shipped = sum(1 for number in range(500) if number % 3 == 2)
    found = invariant(built(engine, documents), PRESENCE)
    assert (found.applies, found.holds) == (500, 496)
    assert (found.detail["documents_with"], found.detail["with_but_lacking"], found.detail["without_but_holding"]) == (shipped, 4, 0)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_rectangular_chunk_then_a_ragged_one_add_up(engine):
    """5,000 orders are one chunk of one layout; the next 600 are another, with a status and a
    shipping date: the counts of both chunks add up."""
    documents = [order(number) for number in range(5600)]
    for number in range(5000, 5600):
        if number % 2:
            documents[number].update(status="shipped", shipped_at=START)
        documents[number]["total"] += number % 3 == 0
    shape = built(engine, documents)
    found = invariant(shape, SUM)
    assert (found.applies, found.holds) == (5600, 5600 - 200)
    presence = invariant(shape, PRESENCE)
    assert (presence.applies, presence.holds) == (5600, 5600)


# -- versions -------------------------------------------------------------------------------


def versioned() -> list[dict]:
    """Days 0-29: 60 documents without a version, then 60 of version 1 (2, 2.0, Int64(2) later
    are version 2), all of them with `fax`; days 30-59: 120 of version 2, with `email`."""
    documents = []
    for number in range(240):
        day = number // 4
        document = {"_id": object_id(day, number), "name": f"c{number}"}
        if number >= 60:
            document["schema_version"] = 1 if number < 120 else (2, 2.0, Int64(2))[number % 3]
        if number < 120:
            document["fax"] = "555-0100"
        else:
            document["email"] = None if number % 10 == 0 else "c@example.com"
        documents.append(document)
    return documents


@pytest.mark.parametrize("engine", ENGINES)
def test_a_version_split_counts_the_fields_each_version_holds(engine):
    evolution = built(engine, versioned()).evolution
    assert evolution.version_field == "schema_version"
    assert evolution.versions == [
        Version(None, 60, {"_id": 60, "fax": 60, "name": 60}),
        Version(1, 60, {"_id": 60, "fax": 60, "name": 60, "schema_version": 60}),
        Version(2, 120, {"_id": 120, "email": 108, "name": 120, "schema_version": 120}),  # a null email is not held
    ]
    assert evolution.dated == {"_id": 240}
    assert evolution.newest == (START + 59 * DAY).date().isoformat()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_field_only_older_documents_hold_is_aged(engine):
    evolution = built(engine, versioned()).evolution
    # every document created up to day 29 holds it, none after: 120 older, 120 newer
    assert evolution.aged == [FieldAge("fax", 120, (START + 29 * DAY).date().isoformat(), 120, 120, None, 0.0)]


@pytest.mark.parametrize("engine", ENGINES)
def test_created_at_dates_documents_without_an_objectid(engine):
    documents = [{"_id": number, "created_at": START + (number // 3) * DAY, **({"legacy": 1} if number < 30 else {})}
                 for number in range(90)]
    evolution = built(engine, documents).evolution
    assert evolution.dated == {"created_at": 90}
    [legacy] = [age for age in evolution.aged if age.path == "legacy"]
    assert (legacy.documents, legacy.older, legacy.newer) == (30, 30, 60)


def test_a_dates_day_counts_whole_days_from_the_epoch():
    from nosql_advisor.shape.versions import _days_of

    dates = [datetime.datetime(1970, 1, 2), START, datetime.datetime(2199, 12, 31, 23, 59, 59, 999999),
             datetime.datetime(1969, 12, 31, 23, 59, 59, 500000), "2025-01-01", None]
    assert _days_of(dates) == [1, (START.date() - datetime.date(1970, 1, 1)).days,
                               (datetime.date(2199, 12, 31) - datetime.date(1970, 1, 1)).days,
                               0,  # int() of -0.5 seconds, then days: as the timestamp always gave
                               None, None]
    assert _days_of(dates[:3]) == _days_of(dates)[:3]  # the all-datetime fast path agrees


# -- rows -------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_rows_are_the_documents_of_smallest_id_hash_and_skip_those_without_an_id(engine):
    documents = [{"_id": number, "n": number} for number in range(300)] + [{"n": -1}] * 5
    shape = built(engine, documents, rows=20)
    smallest = sorted(range(300), key=lambda number: stable_hashes([number])[0])[:20]
    reference = RowSample(20)
    reference.add_many([{"_id": number, "n": number} for number in smallest])
    assert shape.rows == reference.rows() and len(shape.rows) == 20


class Counting(PythonChunk):
    """The reference's view, counting which documents, columns and value lists it is asked for."""

    __slots__ = ("asked", "columns", "lists")

    def __init__(self, documents) -> None:
        super().__init__(documents)
        self.asked, self.columns, self.lists = [], [], []

    def document(self, index: int):
        self.asked.append(index)
        return super().document(index)

    def column(self, key: str) -> list:
        self.columns.append(key)
        return super().column(key)

    def values(self, node):
        self.lists.append(node.path)
        return super().values(node)

    def documents(self):
        raise AssertionError("a tally asked for every document of the chunk: the native view would decode them all")


def test_the_row_sample_asks_only_for_the_documents_entering_it():
    first = [{"_id": number} for number in range(50)]
    second = [{"_id": number} for number in range(50, 100)]
    sample = RowSample(3)
    chunk = Counting(first)
    sample.add_chunk(chunk)
    assert len(chunk.asked) == 3
    chunk = Counting(second)
    sample.add_chunk(chunk)
    bottom = sorted(range(100), key=lambda number: stable_hashes([number])[0])[:3]
    entering = sorted(number - 50 for number in bottom if number >= 50)
    assert sorted(chunk.asked) == entering != []
    assert len(sample.rows()) == 3


def test_a_view_and_the_documents_give_the_same_rows():
    documents = [{"_id": number, "a": {"b": number % 5}, "tags": ["x", number]} for number in range(40)]
    documents[3] = {"a": 1}  # no _id
    documents[4] = {"_id": None, "a": 2}  # a null _id is an _id
    by_view, by_documents = RowSample(25), RowSample(25)
    by_view.add_chunk(PythonChunk(documents))
    by_documents.add_many(documents)
    assert by_view.rows() == by_documents.rows() and len(by_view.rows()) == 25
    assert PythonChunk(documents).ids()[3] is MISSING and PythonChunk(documents).ids()[4] is None


class Hashing(PythonChunk):
    """A view that hashes the `_id`s itself, as the native one may: `ids()` is never needed."""

    __slots__ = ()

    def ids(self):
        raise AssertionError("the row sample made the _ids Python values although the view hashed them")

    def id_hashes(self):
        return [MISSING if value is MISSING else stable_hashes([value])[0] for value in PythonChunk.ids(self)]


def test_a_view_that_hashes_the_ids_gives_the_same_rows():
    documents = [{"_id": number, "a": number % 3} for number in range(60)] + [{"a": 9}] * 3
    hashed, plain = RowSample(25), RowSample(25)
    hashed.add_chunk(Hashing(documents))
    plain.add_chunk(PythonChunk(documents))
    assert hashed.rows() == plain.rows() and len(hashed.rows()) == 25


# -- what the tallies read through the view -------------------------------------------------------


class Viewed(ShapeBuilder):
    """The reference builder, its chunks read through a view of the test's choosing."""

    view = PythonChunk
    made: list = []

    def _tally(self, chunk, stamps) -> None:
        view = self.view(chunk.documents())
        self.made.append(view)
        super()._tally(view, stamps)


class Bare:
    """Only the required methods of the view: no `element_kinds`, no `lengths`."""

    def __init__(self, documents) -> None:
        self.inner = PythonChunk(documents)
        self.size = self.inner.size

    def __getattr__(self, name):
        if name in ("element_kinds", "lengths"):
            raise AttributeError(name)
        return getattr(self.inner, name)


class WithLengths(Counting):
    """A view that can tell arrays' lengths without making them, as the native one can."""

    __slots__ = ()

    def lengths(self, node) -> list[int]:
        return list(map(len, node.values.get(list, ())))  # not counted: the native view makes no array


def viewed_shape(view, documents):
    builder = type("Built", (Viewed,), {"view": view, "made": []})("shop.orders")
    for document in documents:
        builder.add(document, 100)
    return builder.finish(), builder.made


CASES = {"rectangular": [order(number) for number in range(300)], "ragged": ragged_orders(True)[0],
         "versioned": versioned()}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("view", [Bare, WithLengths], ids=["required-methods-only", "with-lengths"])
def test_every_view_gives_the_reference_tallies(view, case):
    documents = CASES[case]
    reference = ShapeBuilder("shop.orders")
    for document in documents:
        reference.add(document, 100)
    expected = reference.finish()
    shape, _ = viewed_shape(view, documents)
    assert (shape.rows, shape.invariants, shape.evolution) == (expected.rows, expected.invariants, expected.evolution)
    assert shape.invariants if case != "versioned" else shape.evolution.versions


def test_sums_over_uniform_arrays_make_no_array_when_the_view_knows_their_lengths():
    """The orders' items are read from the element columns (price, qty) the walk filed: neither
    the documents' arrays nor the items' own list is asked for."""
    documents = [order(number) for number in range(400)]
    shape, [view] = viewed_shape(WithLengths, documents)
    assert invariant(shape, SUM).holds == 400
    assert "items" not in view.columns and "items" not in view.lists
    assert {"items.price", "items.qty"} <= set(view.lists)
