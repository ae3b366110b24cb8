"""Every BSON type kept: symbol, undefined and DBPointer (which PyMongo's decoder folds into
string, null and DBRef) are reported under their own names, from documents written here byte
by byte; and a top-level empty key is a path of its own ("" and ".z", not "z")."""

from __future__ import annotations

import struct
from pathlib import Path

import bson
import pytest
from bson import DBRef, ObjectId
from bson.raw_bson import RawBSONDocument
from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo import MongoClient
from pymongo.errors import WriteError

from nosql_advisor.bsontypes import UNDEFINED, DBPointer, Symbol, bson_type_of
from nosql_advisor.parallel import infer_in_workers
from nosql_advisor.scan import Intake, ScanOptions, scan_sources
from nosql_advisor.schema.dialect import check_schema, validator_for
from nosql_advisor.schema.drift import drift_findings
from nosql_advisor.schema.generate import generate_validator
from nosql_advisor.schema.load import DeclaredSchema
from nosql_advisor.schema.validate import ValidationTally
from nosql_advisor.shape import ShapeBuilder
from nosql_advisor.shape.infer import infer_shape
from nosql_advisor.sources import dump, export
from nosql_advisor.sources.base import CODEC_OPTIONS, Selection, decode_batch
from nosql_advisor.sources.files import Batch
from nosql_advisor.sources.legacy_types import decode_many, decode_one, loads_json

# -- BSON written by hand ---------------------------------------------------------------------


def document(*elements: bytes) -> bytes:
    body = b"".join(elements)
    return struct.pack("<i", len(body) + 5) + body + b"\x00"


def element(kind: int, key: str, value: bytes = b"") -> bytes:
    return bytes([kind]) + key.encode() + b"\x00" + value


def text(value: str) -> bytes:
    encoded = value.encode() + b"\x00"
    return struct.pack("<i", len(encoded)) + encoded


def int32(value: int) -> bytes:
    return struct.pack("<i", value)


def oid(number: int) -> bytes:
    return bytes.fromhex(f"65{number:022x}")


def symbol(key, value):
    return element(0x0E, key, text(value))


def string(key, value):
    return element(0x02, key, text(value))


def undefined(key):
    return element(0x06, key)


def null(key):
    return element(0x0A, key)


def db_pointer(key, namespace, number):
    return element(0x0C, key, text(namespace) + oid(number))


def db_ref(key, collection, number):  # a real DBRef: an embedded {$ref, $id} document
    return element(0x03, key, document(string("$ref", collection), element(0x07, "$id", oid(number))))


def subdocument(key, *elements):
    return element(0x03, key, document(*elements))


def array(key, *elements):
    return element(0x04, key, document(*elements))


ELEMENTS = [  # three documents, element by element
    [element(0x07, "_id", oid(1)), symbol("name", "ada"), undefined("gone"),
     db_pointer("owner", "shop.users", 7), db_ref("ref", "users", 7),
     subdocument("", element(0x10, "z", int32(1))), subdocument("a", element(0x10, "", int32(2))),
     array("tags", symbol("0", "x"), symbol("1", "y"))],
    [element(0x07, "_id", oid(2)), string("name", "bob"), null("gone"),
     db_pointer("owner", "shop.users", 8), db_ref("ref", "users", 8),
     subdocument("", element(0x10, "z", int32(3))), subdocument("a", element(0x10, "", int32(4))),
     array("tags", string("0", "x"))],
    [element(0x07, "_id", oid(3)), symbol("name", "cy"), undefined("gone"),
     db_ref("owner", "users", 9), subdocument("", subdocument("", element(0x10, "", int32(5)))),
     array("tags", undefined("0"))],
]
DOCUMENTS = [document(*elements) for elements in ELEMENTS]
REFERENCES = ("owner", "ref")  # the keys holding a DBPointer or a DBRef


def plain_object_for_references(element_: bytes) -> bytes:
    """A DBPointer or DBRef element replaced by a plain embedded document (an object)."""
    key = element_[1:element_.index(0)].decode()
    return subdocument(key, element(0x10, "x", int32(1))) if key in REFERENCES else element_


WITHOUT_REFERENCES = [document(*map(plain_object_for_references, elements)) for elements in ELEMENTS]

# what the bytes above hold, counted by hand
EXPECTED_TYPES = {
    "name": {"string": 1, "symbol": 2},
    "gone": {"null": 1, "undefined": 2},
    "owner": {"dbPointer": 2, "object": 1},
    "ref": {"object": 2},
    "": {"object": 3},
    ".z": {"int": 2},
    ".": {"object": 1},
    "..": {"int": 1},
    "a": {"object": 2},
    "a.": {"int": 2},
}
EXPECTED_TAG_ELEMENTS = {"string": 1, "symbol": 2, "undefined": 1}
NDJSON_LINES = [
    '{"_id": {"$oid": "650000000000000000000001"}, "name": {"$symbol": "ada"}, "gone": {"$undefined": true}, '
    '"owner": {"$dbPointer": {"$ref": "shop.users", "$id": {"$oid": "650000000000000000000007"}}}, '
    '"ref": {"$ref": "users", "$id": {"$oid": "650000000000000000000007"}}, "": {"z": 1}, "a": {"": 2}, '
    '"tags": [{"$symbol": "x"}, {"$symbol": "y"}]}',
    '{"_id": {"$oid": "650000000000000000000002"}, "name": "bob", "gone": null, '
    '"owner": {"$dbPointer": {"$ref": "shop.users", "$id": {"$oid": "650000000000000000000008"}}}, '
    '"ref": {"$ref": "users", "$id": {"$oid": "650000000000000000000008"}}, "": {"z": 3}, "a": {"": 4}, '
    '"tags": ["x"]}',
    '{"_id": {"$oid": "650000000000000000000003"}, "name": {"$symbol": "cy"}, "gone": {"$undefined": true}, '
    '"owner": {"$ref": "users", "$id": {"$oid": "650000000000000000000009"}}, "": {"": {"": 5}}, '
    '"tags": [{"$undefined": true}]}',
]


def assert_expected_shape(shape) -> None:
    assert shape.sampled == 3
    for path, types in EXPECTED_TYPES.items():
        assert shape.field(path) is not None, path
        assert shape.field(path).types == types, path
    assert shape.field("z") is None  # the child of the empty key is ".z"
    assert shape.field("tags").array.element_types == EXPECTED_TAG_ELEMENTS


def write_dump(folder: Path) -> Path:
    path = folder / "shop" / "legacy.bson"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"".join(DOCUMENTS))
    return path


# -- decoding ---------------------------------------------------------------------------------


def test_decoding_keeps_symbol_undefined_and_dbpointer_where_pymongo_folds_them():
    folded = bson.decode(DOCUMENTS[0])
    assert type(folded["name"]) is str and folded["gone"] is None and type(folded["owner"]) is DBRef
    kept = decode_one(DOCUMENTS[0], CODEC_OPTIONS)
    assert kept["name"] == "ada" and type(kept["name"]) is Symbol
    assert kept["gone"] is UNDEFINED
    assert type(kept["owner"]) is DBPointer and kept["owner"].collection == "shop.users"
    assert kept["owner"].id == ObjectId(oid(7))
    assert type(kept["ref"]) is DBRef  # a real {$ref, $id} document stays an object
    assert [type(tag) for tag in kept["tags"]] == [Symbol, Symbol]
    assert kept[""] == {"z": 1} and kept["a"] == {"": 2}
    assert [bson_type_of(kept[key]) for key in ("name", "gone", "owner", "ref")] == [
        "symbol", "undefined", "dbPointer", "object"]


def test_a_batch_decodes_like_each_document_alone():
    batch = b"".join(DOCUMENTS)
    together = decode_many(batch, [len(d) for d in DOCUMENTS], CODEC_OPTIONS)
    alone = [decode_one(d, CODEC_OPTIONS) for d in DOCUMENTS]
    assert [_typed(d) for d in together] == [_typed(d) for d in alone]
    assert together[2]["tags"] == [UNDEFINED] and together[2]["gone"] is UNDEFINED


def _typed(value):
    """A value with the type of every part spelled out (== alone cannot tell Symbol from str)."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (bson_type_of(value), repr(value))


def test_byte_values_that_look_like_legacy_type_bytes_are_not_taken_for_them():
    # ints 6, 12, 14, a 5-character string (length 6), a 0x0E byte before a real string element:
    # every value keeps the type its bytes give it
    tricky = document(element(0x10, "n", int32(6)), element(0x10, "m", int32(12)), element(0x10, "k", int32(14)),
                      string("zip", "12345"), element(0x01, "x", struct.pack("<d", 2.0000000000000027)),
                      string("tenant_id", "t_0004"), subdocument("d", element(0x10, "q", int32(6))),
                      element(0x12, "long", struct.pack("<q", 6)))
    assert _typed(decode_one(tricky, CODEC_OPTIONS)) == _typed(bson.decode(tricky))


def test_a_legacy_element_right_after_bytes_that_look_like_one_is_found():
    # the int's bytes 06 'A' 'B' 'C' read as an undefined whose key runs into the real one's
    raw = document(element(0x10, "i", b"\x06ABC"), undefined("k"), element(0x10, "j", b"\x0eABC"), symbol("s", "v"))
    kept = decode_one(raw, CODEC_OPTIONS)
    assert kept["k"] is UNDEFINED and type(kept["s"]) is Symbol
    assert kept["i"] == int.from_bytes(b"\x06ABC", "little") and kept["j"] == int.from_bytes(b"\x0eABC", "little")


# a generator of documents mixing every kind of value, written with the helpers above: the
# decoded types must be exactly the ones written, wherever the legacy ones sit
KEYS = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=4)
LEAVES = st.one_of(
    st.tuples(st.just("int"), st.integers(-2**31, 2**31 - 1)),
    st.tuples(st.just("string"), st.text(max_size=6)),
    st.tuples(st.just("symbol"), st.text(max_size=6)),
    st.tuples(st.just("undefined"), st.none()),
    st.tuples(st.just("null"), st.none()),
    st.tuples(st.just("dbPointer"), st.integers(0, 99)),
    st.tuples(st.just("double"), st.floats(allow_nan=False)),
)
TREES = st.recursive(LEAVES, lambda children: st.one_of(
    st.tuples(st.just("object"), st.dictionaries(KEYS, children, max_size=4)),
    st.tuples(st.just("array"), st.lists(children, max_size=4))), max_leaves=12)


def encode_tree(key: str, tree) -> bytes:
    kind, value = tree
    if kind == "object":
        return subdocument(key, *(encode_tree(k, v) for k, v in value.items()))
    if kind == "array":
        return array(key, *(encode_tree(str(i), v) for i, v in enumerate(value)))
    return {"int": lambda: element(0x10, key, int32(value)), "string": lambda: string(key, value),
            "symbol": lambda: symbol(key, value), "undefined": lambda: undefined(key), "null": lambda: null(key),
            "dbPointer": lambda: db_pointer(key, "db.c", value),
            "double": lambda: element(0x01, key, struct.pack("<d", value))}[kind]()


def expected_types(tree):
    kind, value = tree
    if kind == "object":
        return {k: expected_types(v) for k, v in value.items()}
    if kind == "array":
        return [expected_types(v) for v in value]
    return kind


def decoded_types(value):
    if isinstance(value, dict):
        return {k: decoded_types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decoded_types(v) for v in value]
    return bson_type_of(value)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.dictionaries(KEYS, TREES, max_size=5), min_size=1, max_size=4))
def test_every_legacy_value_is_found_and_no_other_value_is_taken_for_one(trees):
    raws = [document(*(encode_tree(key, tree) for key, tree in fields.items())) for fields in trees]
    decoded = decode_many(b"".join(raws), [len(raw) for raw in raws], CODEC_OPTIONS)
    assert [decoded_types(d) for d in decoded] == [{k: expected_types(v) for k, v in t.items()} for t in trees]


def test_empty_keys_are_path_parts_inside_arrays_and_nested_objects():
    shape = infer_shape([({"": [{"z": 1}, {"": 2}], "a": {"": {"": True}}}, None)])
    assert {f.path: f.types for f in shape.fields} == {
        "": {"array": 1}, ".z": {"int": 1}, ".": {"int": 1}, "a": {"object": 1}, "a.": {"object": 1},
        "a..": {"bool": 1}}


# -- sources: dump, NDJSON, JSON array, parallel workers --------------------------------------


def test_a_dump_reports_symbol_undefined_dbpointer_and_empty_key_paths(tmp_path):
    write_dump(tmp_path)
    landscape = scan_sources([str(tmp_path)], ScanOptions(workers=1))
    assert_expected_shape(landscape.collections[0].shape)


def test_one_dump_record_decoded_alone_keeps_its_types(tmp_path):
    path = write_dump(tmp_path)
    records = list(dump.read_bson_records(path, [], lambda _: None))
    decoded = [dump.decode_bson_record(record, path, [])[0] for record in records]
    assert [bson_type_of(d["name"]) for d in decoded] == ["symbol", "string", "symbol"]


def test_ndjson_extended_json_forms_keep_their_types(tmp_path):
    path = tmp_path / "shop" / "legacy.json"
    path.parent.mkdir()
    path.write_text("\n".join(NDJSON_LINES) + "\n")
    assert_expected_shape(scan_sources([str(tmp_path)], ScanOptions(workers=1)).collections[0].shape)


def test_an_escaped_dollar_is_read_as_the_same_type(tmp_path):
    # libbson unescapes keys: "\u0024symbol" is $symbol, so such a line is looked at too
    line = b'{"_id": 1, "s": {"\\u0024symbol": "a"}, "u": {"$\\u0075ndefined": true}}'
    decoded, _ = export.decode_export_record((line, 1), tmp_path / "x.json", [])
    assert [bson_type_of(decoded[k]) for k in ("s", "u")] == ["symbol", "undefined"]


def test_a_json_array_export_keeps_the_types_too(tmp_path):
    path = tmp_path / "shop" / "legacy.json"
    path.parent.mkdir()
    path.write_text("[\n" + ",\n".join(NDJSON_LINES) + "\n]\n")
    assert not export.is_ndjson(path)
    assert_expected_shape(scan_sources([str(tmp_path)], ScanOptions(workers=1)).collections[0].shape)


def test_json_util_reading_keeps_the_types_where_libbson_refuses_the_line(tmp_path):
    line = b'{"_id": 1, "x": NaN, "s": {"$symbol": "a"}, "u": {"$undefined": true}, ' \
           b'"p": {"$dbPointer": {"$ref": "db.c", "$id": {"$oid": "650000000000000000000001"}}}}'
    assert export.line_to_bson(line) is None  # NaN is not JSON to libbson: json_util reads it
    decoded, size = export.decode_export_record((line, 1), tmp_path / "x.json", [])
    assert [bson_type_of(decoded[k]) for k in ("s", "u", "p")] == ["symbol", "undefined", "dbPointer"]
    assert size == len(bson.encode({"_id": 1, "x": float("nan"), "s": "a", "u": None,
                                    "p": DBRef("db.c", ObjectId("650000000000000000000001"))}))
    assert type(loads_json(b'{"$symbol": "q"}', export.JSON_OPTIONS)) is Symbol


def test_worker_processes_give_the_shape_of_one_process(tmp_path):
    path = write_dump(tmp_path)
    alone = ShapeBuilder("shop.legacy")
    data = path.read_bytes()
    documents, _ = decode_batch(dump.raw_batch(Batch(0, 0, len(data), data), data, path))
    for document_and_size in documents:
        alone.add(*document_and_size)
    problems = []
    intake = Intake(("shop.legacy",), None)
    records = infer_in_workers(dump.bson_batches(path, problems, lambda _: None), dump.raw_batch,
                               path, intake, 2, problems)
    assert records == 3 and problems == []
    in_workers = intake.builder.finish()
    assert_expected_shape(in_workers)
    assert in_workers.to_dict() == alone.finish().to_dict()


# -- drift, validation, generated validators -----------------------------------------------------


def dump_shape(tmp_path):
    write_dump(tmp_path)
    return scan_sources([str(tmp_path)], ScanOptions(workers=1)).collections[0].shape


def test_a_field_mixing_string_and_symbol_is_type_drift_naming_both(tmp_path):
    shape = dump_shape(tmp_path)
    drift = {f.path: f for f in drift_findings(shape, None, None, None, False) if f.rule == "DM505"}
    assert "name" in drift
    assert drift["name"].evidence["types"] == {"string": 1, "symbol": 2}
    assert "symbol 2" in drift["name"].message and "string 1" in drift["name"].message


def test_the_generated_validator_names_the_types_and_nests_the_empty_key(tmp_path):
    schema = generate_validator(dump_shape(tmp_path))["$jsonSchema"]
    assert check_schema(schema) == []
    properties = schema["properties"]
    assert properties["name"]["bsonType"] == ["string", "symbol"]
    assert properties["gone"]["bsonType"] == ["null", "undefined"]
    assert properties["owner"]["bsonType"] == ["dbPointer", "object"]
    assert properties["tags"]["items"]["bsonType"] == ["string", "symbol", "undefined"]
    assert properties[""]["properties"]["z"]["bsonType"] == "int"
    assert properties[""]["properties"][""]["properties"][""]["bsonType"] == "int"
    assert properties["a"]["properties"][""]["bsonType"] == "int"
    assert "z" not in properties


def test_a_symbol_validates_against_bsontype_symbol_and_not_string():
    decoded = [decode_one(raw, CODEC_OPTIONS) for raw in DOCUMENTS]
    as_symbol = ValidationTally(DeclaredSchema("t.c", {"properties": {"name": {"bsonType": "symbol"}}}, "test"))
    as_string = ValidationTally(DeclaredSchema("t.c", {"properties": {"name": {"bsonType": "string"}}}, "test"))
    for document_ in decoded:
        as_symbol.add(document_)
        as_string.add(document_)
    assert as_symbol.result().failed == 1  # bob's plain string
    assert as_string.result().failed == 2  # ada's and cy's symbols
    undefined_ok = ValidationTally(DeclaredSchema("t.c", {"properties": {"gone": {"bsonType": "null"}}}, "test"))
    for document_ in decoded:
        undefined_ok.add(document_)
    assert undefined_ok.result().failed == 2  # undefined is not null


def test_every_document_passes_the_validator_generated_from_them(tmp_path):
    tally = ValidationTally(DeclaredSchema("shop.legacy", generate_validator(dump_shape(tmp_path))["$jsonSchema"], "t"))
    for raw in DOCUMENTS:
        tally.add(decode_one(raw, CODEC_OPTIONS))
    assert tally.result().failed == 0


# -- a server: sampling raw documents, and the generated validator enforced --------------------

RAW = bson.CodecOptions(document_class=RawBSONDocument)
PROBES = {  # a one-field document of each type, and the bsonType that must accept it
    "symbol": document(element(0x07, "_id", oid(1)), symbol("v", "s")),
    "undefined": document(element(0x07, "_id", oid(1)), undefined("v")),
    "dbPointer": document(element(0x07, "_id", oid(1)), db_pointer("v", "db.c", 1)),
    "object": document(element(0x07, "_id", oid(1)), db_ref("v", "users", 1)),  # a DBRef is an object
}


def server_support(database) -> tuple[set[str], set[str]]:
    """Which types the server stores as sent (its reply carries the same type byte), and which it
    accepts under their own bsonType with validationAction error."""
    stored, validated = set(), set()
    for name, raw in PROBES.items():
        database.drop_collection(f"probe_{name}")
        schema = {"properties": {"v": {"bsonType": name}}}
        database.create_collection(f"probe_{name}", validator={"$jsonSchema": schema}, validationAction="error")
        collection = database.get_collection(f"probe_{name}", codec_options=RAW)
        try:
            collection.insert_one(RawBSONDocument(raw))
        except WriteError:
            continue
        validated.add(name)
        if collection.find_one().raw == raw:
            stored.add(name)
    return stored, validated


@pytest.fixture(scope="module")
def legacy_database(mongo_uri):
    client = MongoClient(mongo_uri)
    client.drop_database("h4_legacy")
    database = client["h4_legacy"]
    yield database
    client.drop_database("h4_legacy")
    client.close()


@pytest.mark.live
def test_live_sampling_reports_the_type_bytes_the_server_sends(legacy_database, mongo_uri):
    collection = legacy_database.get_collection("legacy", codec_options=RAW)
    collection.insert_many([RawBSONDocument(raw) for raw in DOCUMENTS])
    sent_back = {d["_id"]: d.raw for d in collection.find()}
    stored, _ = server_support(legacy_database)
    selection = Selection(databases=("h4_legacy",), collections=("legacy",))
    shape = scan_sources([mongo_uri], ScanOptions(selection=selection)).collections[0].shape
    if stored >= {"symbol", "undefined", "dbPointer"}:  # a real mongod: the bytes come back as written
        assert set(sent_back.values()) == set(DOCUMENTS)
        assert_expected_shape(shape)
    else:  # SecantusDB 0.7.0b3 folds them when it stores (string, null, a DBRef): reported as received
        received = [decode_one(raw, CODEC_OPTIONS) for raw in sent_back.values()]
        counts = {}
        for document_ in received:
            counts[bson_type_of(document_["name"])] = counts.get(bson_type_of(document_["name"]), 0) + 1
        assert shape.field("name").types == counts
        assert shape.field(".z").types == {"int": 2} and shape.field("a.").types == {"int": 2}


@pytest.mark.live
def test_the_server_takes_the_generated_validator_and_accepts_every_document_whose_types_it_keeps(
        legacy_database, tmp_path):
    validator = generate_validator(dump_shape(tmp_path))
    legacy_database.drop_collection("validated")
    # the server takes the aliases symbol, undefined and dbPointer in the schema
    legacy_database.create_collection("validated", validator=validator, validationAction="error")
    collection = legacy_database.get_collection("validated", codec_options=RAW)
    stored, validated = server_support(legacy_database)
    accepted = []
    for raw in DOCUMENTS:
        try:
            collection.insert_one(RawBSONDocument(raw))
            accepted.append(True)
        except WriteError:
            accepted.append(False)
    if validated >= set(PROBES):  # a real mongod
        assert accepted == [True, True, True]
    else:
        # SecantusDB 0.7.0b3 validates what it stores: symbol folded to string, undefined to
        # null (as PyMongo decodes them), and it takes a DBRef for no bsonType, so the documents
        # holding a DBPointer or a DBRef are refused whatever the validator. What it does
        # support is held to our own validator: it accepts exactly the folded documents ours does
        assert "object" not in validated and all(b"$ref\x00" in raw for raw in DOCUMENTS)
        assert accepted == [False, False, False]
        ours = validator_for(validator["$jsonSchema"])
        predicted = [not list(ours.iter_errors(bson.decode(raw))) for raw in WITHOUT_REFERENCES]
        assert predicted == [True, True, False]  # cy's tags hold undefined alone: folded, a null
        server_says = []
        for raw in WITHOUT_REFERENCES:
            try:
                collection.insert_one(RawBSONDocument(raw))
                server_says.append(True)
            except WriteError:
                server_says.append(False)
        assert server_says == predicted
        wrong = generate_validator(dump_shape(tmp_path / "again"))
        wrong["$jsonSchema"]["properties"]["gone"]["bsonType"] = "string"
        legacy_database.drop_collection("refusing")
        legacy_database.create_collection("refusing", validator=wrong, validationAction="error")
        with pytest.raises(WriteError):  # the validator is enforced, not ignored
            refusing = legacy_database.get_collection("refusing", codec_options=RAW)
            refusing.insert_one(RawBSONDocument(WITHOUT_REFERENCES[0]))


def test_malformed_symbol_and_undefined_lines_are_errors_naming_the_line(tmp_path):
    folder = tmp_path / "db"
    folder.mkdir()
    lines = ['{"_id":1,"s":{"$symbol":5}}', '{"_id":2,"u":{"$undefined":false}}',
             '{"_id":3,"u":{"$undefined":"yes"}}', '{"_id":4,"s":{"$symbol":null}}',
             '{"_id":5,"s":{"$symbol":"ok"},"u":{"$undefined":true}}']
    (folder / "notes.json").write_text("\n".join(lines) + "\n")
    landscape = scan_sources([str(folder / "notes.json")], ScanOptions())
    shape = landscape.collections[0].shape
    assert shape.sampled == 1
    assert shape.field("s").types == {"symbol": 1} and shape.field("u").types == {"undefined": 1}
    assert sorted(p.where.rsplit(":", 1)[1] for p in landscape.problems) == ["1", "2", "3", "4"]
    assert all(p.exit_code == 2 and "skipped" in p.message for p in landscape.problems)
