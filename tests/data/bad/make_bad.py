"""The bad-input corpus: every damaged, odd or hostile input the file readers must meet with one
clear line naming the file, the documented exit code, and the rest read. Nothing here is a
committed blob: each case is written by a function below, into a folder given at run time.

    python tests/data/bad/make_bad.py OUT [--damaged N] [--seed S]

writes OUT/<case>/... and prints one line per case: its name and what to scan. tests/test_bad_files.py
imports `make_corpus` and runs `nosql-advisor scan` on every case.

Each case says what a scan of it must give: the exit code (None: any of 0, 2, 4) and the
strings its stderr must hold. Cases that need a user without privileges to mean anything
(`chmod 000` does not stop root) say so with `needs_unprivileged`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import bson
from bson import json_util

MARKER = ".nosql-advisor-output"  # nosql_advisor.sources.files.OUTPUT_MARKER (a test checks they agree)
MIB = 1024 * 1024


@dataclass
class Case:
    name: str
    source: Path  # what to give `scan`
    exit_code: int | None = None  # None: any of 0, 2, 4
    stderr: list[str] = field(default_factory=list)  # each must be in stderr
    collections: int | None = None  # how many collections report.json must hold
    needs_unprivileged: bool = False  # only meaningful when the scan runs as a user without privileges


def documents(count: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [{"_id": number, "name": f"n{number}", "qty": rng.randint(0, 99),
             "tags": [f"t{rng.randint(0, 9)}" for _ in range(rng.randint(0, 3))]} for number in range(count)]


def bson_bytes(docs: list[dict]) -> bytes:
    return b"".join(bson.encode(document) for document in docs)


def ndjson_bytes(docs: list[dict]) -> bytes:
    return b"".join(json_util.dumps(document).encode() + b"\n" for document in docs)


def metadata(**fields) -> str:
    base = {"indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}], "options": {}, "collectionName": "c"}
    base.update(fields)
    return json.dumps(base)


def dump_with(root: Path, files: dict[str, bytes | str]) -> Path:
    """A dump root `root` with one good collection (shop.good) and `files` (relative paths)."""
    (root / "shop").mkdir(parents=True, exist_ok=True)
    (root / "shop" / "good.bson").write_bytes(bson_bytes(documents(20)))
    (root / "shop" / "good.metadata.json").write_text(metadata())
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return root


# -- dumps: odd folders and names -----------------------------------------------------------

def unreadable_file(out: Path) -> Case:
    root = dump_with(out, {"shop/secret.bson": bson_bytes(documents(5))})
    os.chmod(root / "shop" / "secret.bson", 0)
    return Case("unreadable_file", root, 2, ["shop/secret.bson: cannot read this file"], 1, needs_unprivileged=True)


def unreadable_folder(out: Path) -> Case:
    root = dump_with(out, {"locked/orders.bson": bson_bytes(documents(5))})
    os.chmod(root / "locked", 0)
    return Case("unreadable_folder", root, 2, ["locked: cannot read this folder"], 1, needs_unprivileged=True)


def symlinked_database(out: Path) -> Case:
    elsewhere = out / "elsewhere" / "real_shop"
    elsewhere.mkdir(parents=True)
    (elsewhere / "orders.bson").write_bytes(bson_bytes(documents(7)))
    root = dump_with(out / "dump", {})
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    return Case("symlinked_database", root, 0, [], 2)


def symlink_loop(out: Path) -> Case:
    root = dump_with(out, {})
    (root / "shop" / "again").symlink_to("..", target_is_directory=True)
    (root / "self").symlink_to("self")
    return Case("symlink_loop", root, None, ["a folder already read (a symlink loop"], 1)


def dangling_symlink(out: Path) -> Case:
    root = dump_with(out, {})
    (root / "shop" / "gone.bson").symlink_to(out / "nowhere.bson")
    return Case("dangling_symlink", root, 2, ["shop/gone.bson: a symbolic link to nothing"], 1)


def non_utf8_name(out: Path) -> Case:
    root = dump_with(out, {})
    with open(os.fsencode(root / "shop") + b"/caf\xe9.bson", "wb") as handle:
        handle.write(bson_bytes(documents(3)))
    return Case("non_utf8_name", root, 2, ["caf\\xe9.bson: the file name is not UTF-8"], 2)


def odd_collection_names(out: Path) -> Case:
    names = ["a..b", "with space", "sub%2Fdir", "$weird", ".hidden", "données", "new\nline", "tab\tname"]
    root = dump_with(out, {f"shop/{name}.bson": bson_bytes(documents(2)) for name in names})
    return Case("odd_collection_names", root, 0, ["new\\nline"], 1 + len(names))


def output_folder_inside(out: Path) -> Case:
    root = dump_with(out, {"report/report.json": json.dumps({"version": 1}), f"report/{MARKER}": "{}",
                           "report/validators/shop/good.json": json.dumps({"$jsonSchema": {}})})
    return Case("output_folder_inside", root, 0, [f"holds {MARKER}"], 1)


def fifo_named_like_a_collection(out: Path) -> Case:
    root = dump_with(out, {})
    os.mkfifo(root / "shop" / "pipe.bson")
    return Case("fifo_named_like_a_collection", root, 2, ["shop/pipe.bson: not a regular file"], 1)


# -- dumps: malformed metadata ----------------------------------------------------------------

METADATA_SHAPES: dict[str, tuple[str | bytes, str]] = {
    "not_an_object": ("[1, 2, 3]", "metadata is a JSON array, not an object"),
    "indexes_not_a_list": (metadata(indexes={"_id_": 1}), "'indexes' is a JSON object, not a list"),
    "an_index_not_an_object": (metadata(indexes=[{"v": 2, "key": {"_id": 1}, "name": "_id_"}, "x"]),
                               "indexes[1] is a JSON string, not an object"),
    "an_index_without_key": (metadata(indexes=[{"v": 2, "name": "a_1"}]), "indexes[0] has no 'key' object"),
    "options_not_an_object": (metadata(options=[1]), "'options' is a JSON array, not an object"),
    "validator_not_an_object": (metadata(options={"validator": 5}), "options.validator is a JSON number, not an object"),
    "bad_json_schema": (metadata(options={"validator": {"$jsonSchema": {"bsonType": "nosuchtype"}}}),
                        "options.validator $jsonSchema is not valid"),
    "and_not_objects": (metadata(options={"validator": {"$and": [1, 2]}}),
                        "options.validator '$and' is not a list of objects"),
    "bad_json": ('{"indexes": [', "metadata is not valid Extended JSON"),
    "bad_extended_json": ('{"options": {"x": {"$date": {}}}}', "metadata is not valid Extended JSON"),
    "not_utf8": (b'{"options": {"x": "\xff\xfe"}}', "metadata is not valid Extended JSON"),
    "huge": (b'{"options": {}, "pad": "' + b"x" * (17 * MIB) + b'"}', "metadata larger than"),
}


def malformed_metadata(out: Path, shape: str) -> Case:
    content, message = METADATA_SHAPES[shape]
    root = dump_with(out, {"shop/orders.bson": bson_bytes(documents(9)), "shop/orders.metadata.json": content})
    return Case(f"metadata_{shape}", root, 2, [f"shop/orders.metadata.json: {message}"], 2)


def damaged_gzip_metadata(out: Path) -> Case:
    whole = gzip.compress(metadata().encode())
    root = dump_with(out, {"shop/orders.bson": bson_bytes(documents(9)), "shop/orders.metadata.json.gz": whole[:12]})
    return Case("metadata_gzip_cut", root, 2, ["shop/orders.metadata.json.gz: metadata not read"], 2)


# -- exports and dumps: damaged content ---------------------------------------------------------

def truncated_small_json_gz(out: Path) -> Case:
    lines = ndjson_bytes(documents(30))
    compressed = gzip.compress(lines)
    (out / "shop").mkdir(parents=True)
    (out / "shop" / "orders.json.gz").write_bytes(compressed[:-12])  # the trailer and the last block's end
    return Case("truncated_small_json_gz", out / "shop", 4, ["compressed stream ends early", "before it were read"], 1)


def big_document_in_dump(out: Path) -> Case:
    """A 17 MiB document: MongoDB cannot hold it (16 MiB limit), so DM103 says critical."""
    (out / "shop").mkdir(parents=True)
    big = {"_id": 1, "blob": bson.Binary(b"\0" * (17 * MIB))}
    (out / "shop" / "files.bson").write_bytes(bson.encode(big) + bson_bytes(documents(3)))
    return Case("big_document_in_dump", out / "shop", None, [], 1)


def many_bad_lines(out: Path, count: int = 200_000) -> Case:
    (out / "shop").mkdir(parents=True)
    (out / "shop" / "noise.json").write_bytes(b'{"_id": 0}\n' + b"x\n" * count)
    return Case("many_bad_lines", out / "shop", 2, ["more problems not shown"], 1)


def json_array_with_garbage(out: Path) -> Case:
    (out / "shop").mkdir(parents=True)
    text = b"[\n" + b",\n".join(json_util.dumps(d).encode() for d in documents(5)) + b",\n 5, \"s\", {\"a\": }]\n"
    (out / "shop" / "orders.json").write_bytes(text)
    return Case("json_array_with_garbage", out / "shop", 2, ["shop/orders.json:"], 1)


def odd_bytes_files(out: Path) -> Case:
    (out / "shop").mkdir(parents=True)
    files = {"empty.bson": b"", "empty.json": b"", "empty.json.gz": b"", "garbage.json.gz": b"not gzip at all",
             "zeros.bson": b"\0" * 4096, "binary.json": bytes(range(256)) * 64, "bom.json": b"\xef\xbb\xbf" + ndjson_bytes(documents(2)),
             "crlf.json": ndjson_bytes(documents(3)).replace(b"\n", b"\r\n"), "nul.json": b'{"a": "\0"}\n',
             "deep.json": b"[" * 100_000 + b"]" * 100_000, "deep_object.json": b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"\n"}
    for name, content in files.items():
        (out / "shop" / name).write_bytes(content)
    return Case("odd_bytes_files", out / "shop", None, [], None)


# -- random byte damage of real demo dumps and exports ----------------------------------------

def demo_files(out: Path) -> list[Path]:
    """A small demo shop database written as a dump, a gzipped dump and an NDJSON export."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from nosql_advisor.demo import build_demo, write_dump, write_export

    demo = build_demo(seed=3, scale=0.05)
    paths = []
    for folder, writer, gz in (("dump", write_dump, False), ("dumpgz", write_dump, True), ("export", write_export, False)):
        shop = writer(demo, out / "demo" / folder, gzip=gz)
        paths += sorted(p for p in shop.iterdir() if p.name.endswith((".bson", ".bson.gz", ".json", ".json.gz")))
    return paths


def companion(source: Path) -> Path | None:
    """The file a damaged one travels with: a dump file's metadata, a metadata file's dump file."""
    base = source.name.split(".")[0]
    if source.name.endswith(".metadata.json"):
        candidates = [source.with_name(f"{base}.bson"), source.with_name(f"{base}.bson.gz")]
    else:
        candidates = [source.with_name(f"{base}.metadata.json")]
    return next((path for path in candidates if path.exists()), None)


DAMAGES: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "truncated": lambda data, rng: data[:rng.randrange(max(len(data), 1))],
    "flipped_bytes": lambda data, rng: _flip(data, rng, max(1, len(data) // 500)),
    "zeroed_length": lambda data, rng: _zero_run(data, rng, 4),
    "zeroed_block": lambda data, rng: _zero_run(data, rng, 512),
    "duplicated_piece": lambda data, rng: _duplicate(data, rng),
}


def _flip(data: bytes, rng: random.Random, count: int) -> bytes:
    damaged = bytearray(data)
    for _ in range(count if damaged else 0):
        damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
    return bytes(damaged)


def _zero_run(data: bytes, rng: random.Random, length: int) -> bytes:
    if len(data) <= length:
        return bytes(len(data))
    start = rng.randrange(len(data) - length)
    return data[:start] + bytes(length) + data[start + length:]


def _duplicate(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    start = rng.randrange(len(data))
    return data[:start] + data[start:start + rng.randint(1, 300)] + data[start:]


def damaged_demo_files(out: Path, count: int, seed: int) -> list[Case]:
    """`count` cases, each one demo file (plain or gzipped; for .gz the compressed bytes are
    damaged) with one kind of damage, in its own `shop` folder with its metadata beside it."""
    rng = random.Random(seed)
    sources = demo_files(out)
    cases = []
    for number in range(count):
        source = sources[rng.randrange(len(sources))]
        damage = list(DAMAGES)[number % len(DAMAGES)]
        folder = out / f"damaged_{number:03d}" / "shop"
        folder.mkdir(parents=True)
        (folder / source.name).write_bytes(DAMAGES[damage](source.read_bytes(), rng))
        beside = companion(source)
        if beside is not None:
            (folder / beside.name).write_bytes(beside.read_bytes())
        cases.append(Case(f"damaged_{number:03d}_{damage}_{source.parent.parent.name}_{source.name}", folder))
    return cases


def make_corpus(out: Path, damaged: int = 40, seed: int = 0, big: bool = True) -> list[Case]:
    """Write every case under `out` (a folder of its own per case); `big=False` leaves out the
    cases that write tens of MB (the 17 MiB document, the huge metadata)."""
    out.mkdir(parents=True, exist_ok=True)
    makers: list[tuple[str, Callable[[Path], Case]]] = [
        (f.__name__, f) for f in (unreadable_file, unreadable_folder, symlinked_database, symlink_loop,
                                  dangling_symlink, non_utf8_name, odd_collection_names, output_folder_inside,
                                  fifo_named_like_a_collection, damaged_gzip_metadata, truncated_small_json_gz,
                                  many_bad_lines, json_array_with_garbage, odd_bytes_files)]
    if big:
        makers.append(("big_document_in_dump", big_document_in_dump))
    for shape in METADATA_SHAPES:
        if big or shape != "huge":
            makers.append((f"metadata_{shape}", lambda folder, shape=shape: malformed_metadata(folder, shape)))
    cases = [make(out / name) for name, make in makers]
    return cases + damaged_demo_files(out, damaged, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--damaged", type=int, default=40, help="how many randomly damaged demo files")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    for case in make_corpus(arguments.out, arguments.damaged, arguments.seed):
        print(f"{case.name}\t{case.source}")


if __name__ == "__main__":
    main()
