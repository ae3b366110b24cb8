"""Which inference engine ran is part of what `shape --json` answers, and the user can choose it:
NOSQL_ADVISOR_ENGINE=python forces the pure-Python reference (for bug reports: "does it happen
with the reference too?"), =native insists on the C core, anything else is bad usage (exit 2,
one line on stderr). Both engines print the same shapes."""

from __future__ import annotations

import json

import bson
import pytest
from bson import Decimal128, Int64, ObjectId, json_util

from helpers import run_in_process

VARIABLE = "NOSQL_ADVISOR_ENGINE"


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    """A mongodump of two small collections holding numbers of every kind, nesting and arrays."""
    folder = tmp_path_factory.mktemp("engine") / "dump" / "shop"
    folder.mkdir(parents=True)
    orders = [{"_id": ObjectId(f"{1_700_000_000 + n * 86_400:08x}{n:016x}"), "status": ["paid", "shipped"][n % 2],
               "total": [1, 1.0, Int64(1), Decimal128("1.00")][n % 4], "items": [{"sku": f"S{n}", "qty": n}] * (n % 3),
               "customer": {"name": f"c{n}", "tags": [[n], []]}} for n in range(40)]
    users = [{"_id": n, "name": "x" * n, "active": n % 2 == 0} for n in range(10)]
    for name, documents in (("orders", orders), ("users", users)):
        (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
        (folder / f"{name}.metadata.json").write_text(json_util.dumps({"indexes": [], "options": {}}))
    return folder.parent


def shapes(dump, monkeypatch, engine: str | None) -> list[dict]:
    if engine is None:
        monkeypatch.delenv(VARIABLE, raising=False)
    else:
        monkeypatch.setenv(VARIABLE, engine)
    done = run_in_process("shape", str(dump), "--json", cwd=dump)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def native_built() -> None:
    """A loud failure, not a skip, while the core is missing: a skip would read as tested."""
    try:
        from nosql_advisor.shape import native  # noqa: F401
    except ImportError as error:
        pytest.fail(f"native engine not built yet (nosql_advisor.shape.native: {error})", pytrace=False)


def test_shape_json_names_the_native_engine_when_nothing_is_asked(dump, monkeypatch):
    native_built()
    found = shapes(dump, monkeypatch, None)
    assert [(s["namespace"], s["engine"]) for s in found] == [("shop.orders", "native"), ("shop.users", "native")]


def test_engine_python_forces_the_reference_and_it_prints_the_same_shapes(dump, monkeypatch):
    native_built()
    python = shapes(dump, monkeypatch, "python")
    native = shapes(dump, monkeypatch, "native")
    assert {s["engine"] for s in python} == {"python"} and {s["engine"] for s in native} == {"native"}
    assert [{**s, "engine": None} for s in python] == [{**s, "engine": None} for s in native]


def test_engine_python_is_honoured_in_any_case_and_with_spaces(dump, monkeypatch):
    assert {s["engine"] for s in shapes(dump, monkeypatch, " Python ")} == {"python"}


@pytest.mark.parametrize("json_output", [True, False], ids=["json", "tables"])
def test_an_unknown_engine_is_bad_usage_in_one_line(dump, monkeypatch, json_output):
    monkeypatch.setenv(VARIABLE, "bogus")
    done = run_in_process("shape", str(dump), *(["--json"] if json_output else []), cwd=dump)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert VARIABLE in line and "bogus" in line and "python" in line
