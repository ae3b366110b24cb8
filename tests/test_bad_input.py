"""Bad input through the command line, as a user meets it: one clear line, the right exit code,
the rest of the run completes, never a traceback, never a password."""

from __future__ import annotations

import gzip
import json
import socket
from pathlib import Path

import bson
import pytest

from helpers import run_in_process

run = run_in_process  # cli.main in this process: the lines and exit codes are the point


def report(folder: Path) -> dict:
    return json.loads((folder / "report.json").read_text())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_truncated_bson_keeps_what_came_before(tmp_path):
    data = b"".join(bson.encode({"_id": i, "pad": "x" * 50}) for i in range(10))
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "orders.bson").write_bytes(data[:-30])
    done = run("scan", "shop", "--out", "out", cwd=tmp_path)
    assert done.returncode == 4  # the collection was read only in part
    offset = 9 * len(bson.encode({"_id": 0, "pad": "x" * 50}))
    assert f"shop/orders.bson@{offset}: file ends inside a document" in done.stderr
    collection = report(tmp_path / "out")["collections"][0]
    assert collection["sampled"] == 9 and collection["status"] == "incomplete"
    assert f"orders.bson@{offset}: file ends inside a document" in collection["status_reason"]


def test_a_corrupt_document_inside_a_dump_is_skipped_alone(tmp_path):
    documents = [bson.encode({"_id": i, "name": f"n{i}"}) for i in range(5)]
    broken = bytearray(documents[2])
    broken[4] = 0x99  # the first element's type byte: no such BSON type
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "users.bson").write_bytes(b"".join(documents[:2]) + bytes(broken) + b"".join(documents[3:]))
    done = run("scan", "shop", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    offset = len(documents[0]) + len(documents[1])
    assert f"shop/users.bson@{offset}: invalid BSON document skipped" in done.stderr
    assert report(tmp_path / "out")["collections"][0]["sampled"] == 4


def test_gzip_that_ends_early(tmp_path):
    data = gzip.compress(b"".join(bson.encode({"_id": i, "pad": "y" * 200}) for i in range(2000)))
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "orders.bson.gz").write_bytes(data[: len(data) // 2])
    done = run("scan", "shop", "--out", "out", cwd=tmp_path)
    assert done.returncode == 4
    assert "orders.bson.gz" in done.stderr and "compressed stream ends early" in done.stderr
    assert report(tmp_path / "out")["collections"][0]["status"] == "incomplete"
    assert 0 < report(tmp_path / "out")["collections"][0]["sampled"] < 2000


def test_invalid_extended_json_line_is_skipped_and_counted(tmp_path):
    (tmp_path / "shop").mkdir()
    lines = ['{"_id": 1}', '{"_id": 2, "bad": }', '{"_id": {"$oid": "nothex"}}', '{"_id": 4}']
    (tmp_path / "shop" / "users.json").write_text("\n".join(lines) + "\n")
    done = run("scan", "shop", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert "shop/users.json:2: invalid Extended JSON" in errors[0]
    assert "shop/users.json:3: invalid Extended JSON" in errors[1]
    result = report(tmp_path / "out")
    assert result["collections"][0]["sampled"] == 2 and result["collections"][0]["problems"] == 2
    assert [p["where"] for p in result["problems"]] == ["shop/users.json:2", "shop/users.json:3"]


def test_empty_collection_is_a_note(tmp_path):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "empty.bson").write_bytes(b"")
    done = run("shape", "shop", cwd=tmp_path)
    assert done.returncode == 0
    assert "note: shop.empty: empty collection" in done.stderr


def test_a_document_of_almost_16_mib(tmp_path):
    (tmp_path / "shop").mkdir()
    big = {"_id": 1, "blob": bson.Binary(b"\0" * (16 * 1024 * 1024 - 100))}
    (tmp_path / "shop" / "files.bson").write_bytes(bson.encode(big))
    done = run("shape", "shop", "--json", cwd=tmp_path)
    assert done.returncode == 0
    assert json.loads(done.stdout)[0]["document_size"]["max"] == len(bson.encode(big))


def test_two_hundred_levels_of_nesting(tmp_path):
    document: dict = {"leaf": 1}
    for _ in range(200):
        document = {"n": document}
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "deep.json").write_text(json.dumps(document) + "\n")
    done = run("shape", "shop", "--json", cwd=tmp_path)
    assert done.returncode == 0
    assert json.loads(done.stdout)[0]["max_depth"] == 201


def test_a_hundred_thousand_distinct_keys_are_capped(tmp_path):
    document = {"_id": 1, "by_user": {f"u{i}": i for i in range(100_000)}}
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "stats.bson").write_bytes(bson.encode(document))
    done = run("shape", "shop", "--json", cwd=tmp_path)
    assert done.returncode == 0
    shape = json.loads(done.stdout)[0]
    assert len(shape["fields"]) == 5000
    assert shape["capped"]["at"] == {"by_user": 100_000 - 4998}
    assert "note: shop.stats: more than 5000 distinct paths" in done.stderr


@pytest.mark.parametrize("argument, message", [
    ("missing-folder", "missing-folder: no such file or directory"),
    ("notes.txt", "notes.txt: not a collection file"),
])
def test_bad_paths_are_one_line_and_exit_2(tmp_path, argument, message):
    (tmp_path / "notes.txt").write_text("hello")
    done = run("shape", argument, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {message}" or message in done.stderr.strip().splitlines()[-1]
    assert len(done.stderr.strip().splitlines()) == 1


def test_unreachable_server_exits_3_without_the_password(tmp_path):
    uri = f"mongodb://alice:s3cr3tPass@127.0.0.1:{closed_port()}/?serverSelectionTimeoutMS=300"
    done = run("scan", uri, "--out", "out", cwd=tmp_path)
    assert done.returncode == 3
    assert len(done.stderr.strip().splitlines()) == 1
    assert "cannot connect" in done.stderr and "alice:***@" in done.stderr
    assert not (tmp_path / "out").exists()  # nothing read, so no (empty) report written
    for text in (done.stdout, done.stderr):
        assert "s3cr3tPass" not in text


def test_bad_usage_is_exit_2(tmp_path):
    """A readable dump, so the exit 2 can only come from `--sample-size 0`: the same source with
    `--sample-size 1` is read."""
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "orders.bson").write_bytes(b"".join(bson.encode({"_id": i}) for i in range(3)))
    done = run("shape", "--sample-size", "0", "shop", cwd=tmp_path)
    assert done.returncode == 2
    assert "--sample-size" in done.stderr
    assert run("shape", "--sample-size", "1", "shop", cwd=tmp_path).returncode == 0
