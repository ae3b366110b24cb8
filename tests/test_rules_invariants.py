"""Consistency invariants (DM507): a rule most documents keep is reported with the documents that
break it; one every document keeps, or only most of them, is not."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

import bson
import pytest
from bson import Decimal128, json_util

from nosql_advisor.rules import run_rules
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.shape import ShapeBuilder

START = datetime.datetime(2025, 1, 1)


def scan(tmp_path, documents: list[dict], name: str = "orders"):
    folder = tmp_path / "dump" / "shop"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
    (folder / f"{name}.metadata.json").write_text(json_util.dumps({"indexes": [], "options": {}}))
    return scan_sources([str(tmp_path / "dump")], ScanOptions())


def dm507(landscape) -> list:
    return [f for f in run_rules(landscape) if f.rule == "DM507"]


def orders(n: int = 1000, off: int = 0, money=Decimal128, seed: int = 7, by: Decimal = Decimal(1)) -> list[dict]:
    """Orders whose total is Σ price × qty, except the first `off`, `by` more than that."""
    rng = random.Random(seed)
    found = []
    for number in range(n):
        items = [{"sku": f"S{rng.randint(1, 99)}", "price": Decimal(rng.randint(100, 99999)) / 100,
                  "qty": rng.randint(1, 5)} for _ in range(rng.randint(1, 6))]
        total = sum(item["price"] * item["qty"] for item in items) + (by if number < off else 0)
        for item in items:
            item["price"] = money(item["price"]) if money is Decimal128 else float(item["price"])
        total = Decimal128(total) if money is Decimal128 else float(total)
        found.append({"_id": number, "status": "paid", "items": items, "total": total})
    return found


def test_a_total_that_29_of_1000_orders_get_wrong_is_reported_with_its_share(tmp_path):
    [finding] = dm507(scan(tmp_path, orders(off=29)))
    assert (finding.namespace, finding.path) == ("shop.orders", "total")
    assert finding.evidence["invariant"] == "total = Σ items.price × items.qty"
    assert (finding.evidence["documents"], finding.evidence["breaking"]) == (1000, 29)
    assert "holds in 97.1%; 29 of 1,000 documents break it; enforce it in one place" in finding.message


def test_double_totals_compare_within_rounding(tmp_path):
    """0.1 × 3 is 0.30000000000000004 in doubles: still equal; a cent off is not."""
    [finding] = dm507(scan(tmp_path, orders(off=12, money=float)))
    assert (finding.path, finding.evidence["breaking"]) == ("total", 12)


def test_decimal128_totals_compare_exactly(tmp_path):
    """A ten-billionth off: within a double's tolerance, but a Decimal128 total is exact money."""
    tiny = Decimal("0.0000000001")
    [finding] = dm507(scan(tmp_path, orders(off=29, by=tiny)))
    assert finding.evidence["breaking"] == 29


def test_orders_whose_totals_all_add_up_raise_nothing(tmp_path):
    assert dm507(scan(tmp_path, orders())) == []


def test_a_rule_kept_by_80_percent_of_the_documents_is_not_an_invariant(tmp_path):
    assert dm507(scan(tmp_path, orders(off=200))) == []


def dated(n: int = 1000, backwards: int = 0) -> list[dict]:
    documents = []
    for number in range(n):
        created = START + datetime.timedelta(hours=number)
        later = datetime.timedelta(minutes=-5 if number < backwards else 30 + number % 7)
        documents.append({"_id": number, "created_at": created, "updated_at": created + later})
    return documents


def test_an_update_dated_before_the_creation_is_reported(tmp_path):
    [finding] = dm507(scan(tmp_path, dated(backwards=15), "events"))
    assert (finding.path, finding.evidence["invariant"]) == ("updated_at", "updated_at ≥ created_at")
    assert (finding.evidence["breaking"], finding.evidence["documents"]) == (15, 1000)
    assert finding.evidence["check"] == {"$expr": {"$gte": ["$updated_at", "$created_at"]}}


def test_dates_in_order_everywhere_raise_nothing(tmp_path):
    assert dm507(scan(tmp_path, dated(), "events")) == []


def shipments(n: int = 1000, lacking: int = 0, extra: int = 0) -> list[dict]:
    """Every other order shipped, with shipped_at; `lacking` shipped ones without it, `extra`
    unshipped ones with it."""
    documents = []
    for number in range(n):
        shipped = number % 2 == 0
        document = {"_id": number, "status": "shipped" if shipped else ("new", "paid")[number % 4 == 1]}
        if (shipped and number // 2 >= lacking) or (not shipped and number // 2 < extra):
            document["shipped_at"] = START + datetime.timedelta(hours=number)
        documents.append(document)
    return documents


def test_a_shipped_order_without_its_date_breaks_a_presence_rule(tmp_path):
    [finding] = dm507(scan(tmp_path, shipments(lacking=8, extra=4)))
    assert finding.path == "shipped_at"
    assert finding.evidence["invariant"] == "shipped_at present iff status is 'shipped'"
    assert (finding.evidence["with_but_lacking"], finding.evidence["without_but_holding"]) == (8, 4)
    assert finding.evidence["breaking"] == 12


def test_a_field_present_exactly_with_its_status_raises_nothing(tmp_path):
    assert dm507(scan(tmp_path, shipments())) == []


def shape(documents: list[dict]):
    builder = ShapeBuilder("shop.orders")
    for document in documents:
        builder.add(document)
    return builder


def many_dates(n: int = 600) -> list[dict]:
    """More date fields (10) than are kept (6), in varying subsets: which are kept must not
    depend on the order the documents come in."""
    rng = random.Random(3)
    documents = []
    for number in range(n):
        fields = rng.sample(range(10), rng.randint(2, 10))
        document = {"_id": number, "n": number}
        for index in fields:
            document[f"d{index}_at"] = START + datetime.timedelta(days=index, hours=rng.choice([0, 0, 0, -30]))
        documents.append(document)
    return documents


@pytest.mark.parametrize("documents", [orders(off=29), many_dates(), shipments(lacking=8)],
                         ids=["sums", "dates", "presence"])
def test_two_builders_merged_count_what_one_pass_counts(documents):
    one = shape(documents).finish()
    left, right = shape(documents[1::2]), shape(list(reversed(documents[::2])))
    left.merge(right)
    merged = left.finish()
    assert merged.invariants == one.invariants != []


def test_the_walks_columns_and_a_pass_over_the_documents_count_alike():
    """Orders all of one layout are read from the walk's columns; one order with an extra field
    makes the chunk read document by document: the same counts either way."""
    rectangular = orders(off=29)
    ragged = [dict(d) for d in rectangular]
    ragged[500]["note"] = "gift"
    sums = [i for i in shape(rectangular).finish().invariants if i.kind == "sum"]
    assert sums == [i for i in shape(ragged).finish().invariants if i.kind == "sum"] != []


def test_worker_processes_count_what_one_process_counts(tmp_path, monkeypatch):
    """parallel.py pickles each worker's builder and merges them: the invariants (and the
    evolution tally) come out as from one process. Small batches, so that many batches go to
    each of the two workers."""
    import nosql_advisor.parallel as parallel
    import nosql_advisor.sources.files as files

    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(files, "BLOCK_BYTES", 16 << 10)
    documents = [{**order, **({"shipped_at": START} if number % 3 else {})}
                 for number, order in enumerate(orders(3000, off=40))]
    dump = tmp_path / "shop" / "orders.bson"
    dump.parent.mkdir()
    dump.write_bytes(b"".join(bson.encode(d) for d in documents))
    one = scan_sources([str(dump)], ScanOptions(workers=1)).collections[0].shape
    many = scan_sources([str(dump)], ScanOptions(workers=2)).collections[0].shape
    assert parallel.in_parallel(dump, 2)
    assert many.invariants == one.invariants != []
    assert many.evolution == one.evolution
