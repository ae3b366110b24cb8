"""A collection an old driver still writes, with the deprecated BSON types it used: symbol
(0x0E), undefined (0x06) and DBPointer (0x0C).

PyMongo cannot encode these (it decodes them as str, None and DBRef), so the documents are
RawBSONDocuments put together element by element: the ordinary elements as `bson.encode` makes
them, the three deprecated ones written byte by byte. The dump writer writes their bytes as they
are, the export writer turns them into Extended JSON with libbson (python-bsonjs: `$symbol`,
`$undefined`, `$dbPointer`), and `load_live` inserts them raw.
"""

from __future__ import annotations

import struct

import bson
from bson import ObjectId
from bson.raw_bson import RawBSONDocument

from nosql_advisor.demo.maker import Maker, by_tenant, tenant_index
from nosql_advisor.demo.model import DemoCollection, PlantedProblem, ns

SYMBOL, UNDEFINED, DB_POINTER = b"\x0e", b"\x06", b"\x0c"
SYMBOL_SHARE = 0.6  # legacy_notes.kind: symbol from the driver's enum path, string from its form path
KINDS = ["call", "visit", "complaint", "follow_up"]


def element(key: str, value) -> bytes:
    """One BSON element (type byte, key, value) exactly as `bson.encode` writes it."""
    return bson.encode({key: value})[4:-1]


def _cstring(text: str) -> bytes:
    return text.encode() + b"\x00"


def _string(text: str) -> bytes:
    """A BSON string value: int32 byte length (with the NUL), the UTF-8 bytes, NUL."""
    data = _cstring(text)
    return struct.pack("<i", len(data)) + data


def symbol(key: str, text: str) -> bytes:
    return SYMBOL + _cstring(key) + _string(text)


def undefined(key: str) -> bytes:
    return UNDEFINED + _cstring(key)


def db_pointer(key: str, namespace: str, oid: ObjectId) -> bytes:
    return DB_POINTER + _cstring(key) + _string(namespace) + oid.binary


def raw_document(elements: list[bytes]) -> RawBSONDocument:
    body = b"".join(elements) + b"\x00"
    return RawBSONDocument(struct.pack("<i", len(body) + 4) + body)


def _note(make: Maker, order: dict) -> RawBSONDocument:
    created = make.moment(after=order["created_at"])
    kind = make.rng.choice(KINDS)
    audit = make.audit(created)
    return raw_document([
        element("_id", make.oid(created)), element("tenant_id", order["tenant_id"]),
        db_pointer("order_ref", "shop.orders", order["_id"]),
        symbol("kind", kind) if make.rng.random() < SYMBOL_SHARE else element("kind", kind),
        undefined("reminder"), element("text", make.fake.sentence(nb_words=8)),
        element("created_at", audit["created_at"]), element("updated_at", audit["updated_at"])])


def kind_is_symbol(document: RawBSONDocument) -> bool:
    return symbol("kind", document["kind"]) in document.raw


def legacy_notes(make: Maker, orders: DemoCollection, planted: list[PlantedProblem]) -> DemoCollection:
    """Support notes on orders, written to this day by a service on a 2012 driver."""
    per_tenant = by_tenant(orders.documents)
    documents = [_note(make, make.rng.choice(per_tenant[make.spread_tenant(number)]))
                 for number in range(make.count(200, least=60))]
    symbols = sum(kind_is_symbol(d) for d in documents)
    planted.append(PlantedProblem(
        "DM505", ns("legacy_notes"), "kind",
        f"kind is a symbol (BSON 0x0E) in {symbols:,} of {len(documents):,} notes and a string in the other "
        f"{len(documents) - symbols:,}, interleaved: $type \"string\" and a validator's bsonType string miss the symbols; "
        "every note also holds reminder: undefined (0x06) and order_ref: a DBPointer (0x0C) to shop.orders"))
    return DemoCollection("legacy_notes", documents, [tenant_index(("created_at", -1))])
