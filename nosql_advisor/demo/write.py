"""The demo database as a mongodump directory, as mongoexport files, or loaded into a server."""

from __future__ import annotations

import gzip as gzip_module
import hashlib
import json
from pathlib import Path

import bson
import bsonjs
from bson import json_util
from bson.raw_bson import RawBSONDocument

from nosql_advisor.apply import connect, translated
from nosql_advisor.demo.generate import Demo, DemoCollection
from nosql_advisor.demo.workload import write_log

CANONICAL = json_util.CANONICAL_JSON_OPTIONS
BATCH = 1000
LOAD_TIMEOUT_MS = 120_000  # the client's socket timeout while loading (a batch insert, an index build)


def _open(path: Path, gzip: bool):
    # mtime=0: a gzip header without a timestamp, so the same demo gives the same bytes
    return gzip_module.GzipFile(path, "wb", mtime=0) if gzip else open(path, "wb")


def _metadata(collection: DemoCollection) -> dict:
    indexes = [{"v": 2, "key": {"_id": 1}, "name": "_id_"}] + [{"v": 2, **index} for index in collection.indexes]
    return {"indexes": indexes, "uuid": hashlib.md5(collection.name.encode()).hexdigest(),
            "collectionName": collection.name, "type": "collection", "options": collection.options}


def _write_manifest(demo: Demo, out_dir: Path) -> None:
    (out_dir / "manifest.json").write_text(json.dumps(demo.manifest(), indent=2) + "\n", encoding="utf-8")


def _write_collections(demo: Demo, out_dir: Path, suffix: str, gzip: bool, encode) -> Path:
    folder = Path(out_dir) / demo.database
    folder.mkdir(parents=True, exist_ok=True)
    for collection in demo.collections:
        with _open(folder / f"{collection.name}{suffix}{'.gz' if gzip else ''}", gzip) as handle:
            for document in collection.documents:
                handle.write(encode(document))
    _write_manifest(demo, Path(out_dir))
    write_log(demo, Path(out_dir))
    return folder


def write_dump(demo: Demo, out_dir: Path, gzip: bool = False) -> Path:
    """mongodump layout: OUT/shop/<coll>.bson[.gz] and <coll>.metadata.json, plus OUT/manifest.json
    and OUT/mongod.log (the demo's writes, for --log).
    `bson.encode` returns a RawBSONDocument's bytes as they are (legacy_notes' deprecated types)."""
    folder = _write_collections(demo, out_dir, ".bson", gzip, bson.encode)
    for collection in demo.collections:
        metadata = json_util.dumps(_metadata(collection), json_options=CANONICAL)
        (folder / f"{collection.name}.metadata.json").write_text(metadata, encoding="utf-8")
    return folder


def extended_json(document) -> bytes:
    """One canonical Extended JSON line. A RawBSONDocument (legacy_notes: symbol, undefined,
    DBPointer, which json_util would decode to string, null and DBRef) goes through libbson, so
    `$symbol`, `$undefined` and `$dbPointer` keep their types."""
    if isinstance(document, RawBSONDocument):
        return bsonjs.dumps(document.raw, mode=bsonjs.CANONICAL).encode() + b"\n"
    return json_util.dumps(document, json_options=CANONICAL).encode() + b"\n"


def write_export(demo: Demo, out_dir: Path, gzip: bool = False) -> Path:
    """mongoexport layout: OUT/shop/<coll>.json[.gz], canonical Extended JSON, one per line, plus
    OUT/manifest.json and OUT/mongod.log."""
    return _write_collections(demo, out_dir, ".json", gzip, extended_json)


def existing_collections(uri: str, database: str) -> list[str]:
    """The collections `database` already holds on the server (`demo load` asks before it drops
    a database that is not empty)."""
    with connect(uri, LOAD_TIMEOUT_MS) as client, translated(uri, f"listCollections {database}"):
        return sorted(client[database].list_collection_names())


def load_live(demo: Demo, uri: str, drop: bool = True) -> None:
    """Create, fill and index every collection, then install validators with collMod, so the
    planted documents that violate them are already in (as on a real server with history).
    RawBSONDocuments (legacy_notes) are sent as their bytes; a server that decodes and folds
    symbol, undefined and DBPointer (SecantusDB stores them as string, null and a DBRef object)
    no longer holds those types afterwards, a real mongod does.

    drop=True drops the demo database first: the CLI asks before that (`existing_collections`)
    when it is not empty. drop=False keeps what else the database holds; a demo collection that
    already exists is filled as it is (with the validator of an earlier load, the planted
    documents are refused). Driver errors end the load with one line (exit 3 for cannot connect
    or not authorised, 2 otherwise)."""
    with connect(uri, LOAD_TIMEOUT_MS) as client, translated(uri, f"demo load into {demo.database}"):
        database = client[demo.database]
        if drop:
            client.drop_database(demo.database)
        existing = set(database.list_collection_names())
        for collection in demo.collections:
            if collection.name in existing:
                target = database[collection.name]
            else:
                target = database.create_collection(collection.name)
            documents = collection.documents
            for start in range(0, len(documents), BATCH):
                target.insert_many(documents[start:start + BATCH], ordered=True)
            for index in collection.indexes:
                options = {k: v for k, v in index.items() if k != "key"}
                target.create_index(list(index["key"].items()), **options)
        for collection in demo.collections:
            if collection.options.get("validator"):
                database.command({"collMod": collection.name, **collection.options})


def write_schema_files(demo: Demo, out_dir: Path) -> None:
    """OUT/<db>/<coll>.json = {"$jsonSchema": ...} for every collection that declares one."""
    folder = Path(out_dir) / demo.database
    folder.mkdir(parents=True, exist_ok=True)
    for collection in demo.collections:
        validator = collection.options.get("validator")
        if validator:
            (folder / f"{collection.name}.json").write_text(json.dumps(validator, indent=2) + "\n", encoding="utf-8")
