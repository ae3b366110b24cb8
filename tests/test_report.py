"""report.json follows schemas/report.schema.json, and the same input gives the same report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from nosql_advisor.demo import build_demo, write_dump, write_schema_files

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas" / "report.schema.json").read_text())
CORPUS_DATASETS = ROOT.parent / "shared" / "corpus" / "datasets"


def scan(tmp_path: Path, *sources: str, out: str = "out") -> dict:
    done = subprocess.run([sys.executable, "-m", "nosql_advisor", "scan", *sources, "--out", out, "-q"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode in (0, 2), done.stderr
    return json.loads((tmp_path / out / "report.json").read_text())


def valid(report: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(report)]


def test_the_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_a_report_of_the_demo_database_is_valid_and_repeats(tmp_path):
    demo = build_demo(seed=5, scale=0.03)
    write_dump(demo, tmp_path / "dump")
    write_schema_files(demo, tmp_path / "schemas")
    first = scan(tmp_path, "dump", "--schemas", "schemas", out="a")
    second = scan(tmp_path, "dump", "--schemas", "schemas", out="b")
    assert valid(first) == []
    assert first["findings"] and first["collections"]
    first.pop("generated_at"), second.pop("generated_at")
    assert json.dumps(first) == json.dumps(second)
    validators = sorted(p.name for p in (tmp_path / "a" / "validators").iterdir())
    assert "shop.orders.json" in validators and "shop.orders.js" in validators


@pytest.mark.corpus
def test_a_report_of_every_corpus_dataset_is_valid(tmp_path):
    report = scan(tmp_path, str(CORPUS_DATASETS))
    assert len(report["collections"]) == 21
    assert valid(report) == []
