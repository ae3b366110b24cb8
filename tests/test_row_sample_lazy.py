"""The row sample hashes only the documents that stay in it: entering keeps the document (or its
raw BSON), and rows are made when asked, merged, pickled, or when the raw bytes held pass a budget."""

from __future__ import annotations

import pickle

import bson
from bson import ObjectId

from nosql_advisor.shape import rows
from nosql_advisor.shape.invariants import PythonChunk
from nosql_advisor.shape.rows import RowSample
from nosql_advisor.shape.stats import stable_hashes


def documents(n: int, start: int = 0) -> list[dict]:
    return [{"_id": number, "name": f"n{number}", "price": 20.0, "ref": ObjectId(b"%012d" % number),
             "tags": [number, "x"]} for number in range(start, start + n)]


class RawView(PythonChunk):
    """A view that hands out each document's BSON bytes, as the native engine's does."""

    __slots__ = ()

    def raw(self, index: int) -> bytes:
        return bson.encode(self._documents[index])


def chunks(view=PythonChunk, n: int = 1000, size: int = 100):
    return [view(documents(size, start)) for start in range(0, n, size)]


def test_documents_evicted_from_the_sample_are_never_hashed(monkeypatch):
    hashed = []
    real = rows.rows_of
    monkeypatch.setattr(rows, "rows_of", lambda batch: hashed.extend(d["_id"] for d in batch) or real(batch))
    sample = RowSample(10)
    for chunk in chunks():
        sample.add_chunk(chunk)
    made = sample.rows()
    bottom = sorted(range(1000), key=lambda number: stable_hashes([number])[0])[:10]
    assert sorted(hashed) == sorted(bottom) and len(made) == 10


def test_raw_bson_and_decoded_documents_give_the_same_rows():
    raw, decoded, plain = RowSample(30), RowSample(30), RowSample(30)
    for chunk in chunks(RawView):
        raw.add_chunk(chunk)
    for chunk in chunks():
        decoded.add_chunk(chunk)
        plain.add_many(chunk._documents)
    assert raw.rows() == decoded.rows() == plain.rows() and len(raw.rows()) == 30
    assert type(raw.rows()[0]["ref"]) is int  # hashes, never the values


def test_past_the_byte_budget_the_rows_are_made_and_the_bytes_let_go(monkeypatch):
    unbudgeted = RowSample(30)
    for chunk in chunks(RawView):
        unbudgeted.add_chunk(chunk)
    monkeypatch.setattr(rows, "PENDING_BYTES", 500)  # a few documents' BSON
    budgeted = RowSample(30)
    for chunk in chunks(RawView):
        budgeted.add_chunk(chunk)
        assert budgeted.pending_bytes <= 500
    assert budgeted.rows() == unbudgeted.rows()


def test_a_pickled_or_merged_sample_carries_rows_not_documents():
    whole, left, right = RowSample(40), RowSample(40), RowSample(40)
    for index, chunk in enumerate(chunks(RawView)):
        whole.add_chunk(chunk)
        (left if index % 2 else right).add_chunk(chunk)
    shipped = pickle.loads(pickle.dumps(right))
    assert shipped.pending == {} and None not in shipped.kept.values()
    left.merge(shipped)
    assert left.pending == {} and left.rows() == whole.rows() and len(whole.rows()) == 40
