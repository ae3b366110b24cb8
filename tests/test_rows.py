"""The row sample: documents as {path: value hash} rows, bounded, order-free, mergeable."""

from __future__ import annotations

import hashlib
import random
import zlib

from bson import Int64, ObjectId

from nosql_advisor.shape import ShapeBuilder
from nosql_advisor.shape.rows import (CANONICAL, ID_ARRAYS, MAX_ROW_IDS, RowSample, canonical, ids, ids_complete,
                                      is_text, row_hashes)
from nosql_advisor import redact


def keyed(data: bytes) -> int:
    """What a row holds for a value: its bytes' blake2b keyed with the run's key (not the code's own hash)."""
    return int.from_bytes(hashlib.blake2b(data, key=redact.run_key(), digest_size=8).digest(), "little")


def documents(n: int) -> list[dict]:
    return [{"_id": ObjectId(), "name": f"n{i}", "customer": {"email": f"e{i}@x.org", "tags": ["a"]},
             "items": [{"sku": "s"}], "note": None} for i in range(n)]


def test_a_row_holds_hashes_of_scalars_outside_arrays():
    document = documents(1)[0]
    assert row_hashes(document) == {"_id": keyed(document["_id"].binary), "name": keyed(b"n0"),
                                    "customer.email": keyed(b"e0@x.org"),
                                    CANONICAL: {"_id": keyed(str(document["_id"]).encode())},
                                    ID_ARRAYS: {"customer.tags": packed([keyed(b"a")])}}


def packed(hashes: list[int]) -> bytes:
    return b"".join(h.to_bytes(8, "little") for h in sorted(set(hashes)))


def test_an_id_and_its_text_form_share_a_canonical_hash_but_not_a_kind():
    oid = ObjectId()
    as_id, as_text = row_hashes({"ref": oid}), row_hashes({"ref": str(oid)})
    assert as_id["ref"] != as_text["ref"]  # the typed join ($lookup, equality) finds nothing
    assert canonical(as_id, "ref") == canonical(as_text, "ref") == keyed(str(oid).encode())
    assert not is_text(as_id, "ref") and is_text(as_text, "ref")
    number, digits, long_number = row_hashes({"n": 42}), row_hashes({"n": "42"}), row_hashes({"n": Int64(42)})
    assert canonical(number, "n") == canonical(digits, "n") == canonical(long_number, "n") == keyed(b"42")
    assert is_text(digits, "n") and not is_text(number, "n") and not is_text(long_number, "n")


def test_arrays_of_ids_are_carried_as_hash_sets_within_a_budget():
    group_ids = [ObjectId() for _ in range(3)]
    row = row_hashes({"_id": 1, "group_ids": group_ids + group_ids[:1], "items": [{"sku": "s"}], "tags": []})
    assert ids(row, "group_ids") == {keyed(str(g).encode()) for g in group_ids} and ids_complete(row, "group_ids")
    assert ids(row_hashes({"refs": [str(g) for g in group_ids]}), "refs") == ids(row, "group_ids")  # text forms
    assert ids(row, "items") == set() and ids(row, "tags") == set()  # documents, and empty arrays: no ids
    long = row_hashes({"_id": 2, "a": list(range(MAX_ROW_IDS - 10)), "b": list(range(50)), "c": [1]})
    assert len(ids(long, "a")) == MAX_ROW_IDS - 10 and ids_complete(long, "a")
    assert len(ids(long, "b")) == 10 and not ids_complete(long, "b")
    assert ids(long, "c") == set() and not ids_complete(long, "c")  # budget spent: said, not guessed


def test_every_document_is_a_row_below_k_and_k_rows_above():
    small, large = RowSample(k=50), RowSample(k=50)
    small.add_many(documents(40))
    large.add_many(documents(500))
    assert len(small.rows()) == 40 and len(large.rows()) == 50


def test_the_sample_does_not_depend_on_order_and_merges_exactly():
    docs = documents(300)
    whole, one_by_one, shuffled, left, right = (RowSample(k=64) for _ in range(5))
    whole.add_many(docs)
    for document in docs:
        one_by_one.add_many([document])
    mixed = random.Random(3).sample(docs, len(docs))
    for start in range(0, len(mixed), 37):
        shuffled.add_many(mixed[start:start + 37])
    left.add_many(docs[:170])
    right.add_many(docs[170:])
    left.merge(right)
    assert whole.rows() == one_by_one.rows() == shuffled.rows() == left.rows()
    kept = sorted(docs, key=lambda d: zlib.crc32(d["_id"].binary))[:64]  # the 64 smallest _id crc32s
    assert [row["_id"] for row in whole.rows()] == [keyed(d["_id"].binary) for d in kept]


def test_the_shape_carries_rows_but_the_report_does_not():
    builder = ShapeBuilder("shop.reviews")
    for document in documents(10):
        builder.add(document, 100)
    shape = builder.finish()
    assert len(shape.rows) == 10
    assert "rows" not in shape.to_dict()


def test_documents_are_counted_per_month_of_their_object_id_and_merge_exactly():
    from datetime import datetime, timezone

    moments = [datetime(2025, 1, 31, 23, 59, tzinfo=timezone.utc), datetime(2025, 2, 1, tzinfo=timezone.utc),
               datetime(2025, 2, 14, tzinfo=timezone.utc), datetime(2025, 4, 2, tzinfo=timezone.utc)]
    docs = [{"_id": ObjectId.from_datetime(m), "n": i} for i, m in enumerate(moments)] + [{"_id": 7}]
    whole, left, right = ShapeBuilder("a.b"), ShapeBuilder("a.b"), ShapeBuilder("a.b")
    for document in docs:
        whole.add(document, 50)
    for document in docs[:2]:
        left.add(document, 50)
    for document in docs[2:]:
        right.add(document, 50)
    left.merge(right)
    expected = {"2025-01": 1, "2025-02": 2, "2025-04": 1}  # the int _id has no creation time
    assert whole.finish().created_per_month == left.finish().created_per_month == expected
    assert ShapeBuilder("a.c").finish().created_per_month is None
