"""Configuration: where it is read from, what it changes, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import bson
import pytest

from nosql_advisor.config import CONFIG_SCHEMA, load_config, render_schema
from nosql_advisor.errors import InputError

from helpers import run_in_process

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_schema_is_the_one_the_code_validates_with():
    assert (ROOT / "schemas" / "config.schema.json").read_text() == render_schema()
    assert CONFIG_SCHEMA["additionalProperties"] is False


def test_defaults_without_any_config(tmp_path):
    config = load_config(cwd=tmp_path)
    assert config.origin is None and config.rules.tenant_keys[0] == "tenant_id"


def test_pyproject_section_is_read(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nosql-advisor]\ntenant_keys = ["org"]\nglobal_collections = ["app.plans"]\n'
        '[tool.nosql-advisor.rules.DM101]\nseverity = "low"\np99_length = 500\n'
        '[[tool.nosql-advisor.ignore]]\nrule = "DM602"\nnamespace = "app.*"\nreason = "immutable data"\n')
    config = load_config(cwd=tmp_path)
    assert config.rules.tenant_keys == ("org",)
    assert config.rules.global_collections == {"app.plans"}
    assert config.rules.thresholds == {"DM101": {"p99_length": 500}}
    assert config.severities == {"DM101": "low"}
    assert config.ignores[0].reason == "immutable data"


@pytest.mark.parametrize("toml, message", [
    ('[[ignore]]\nrule = "DM602"\n', "'reason' is a required property"),
    ('[rules.DM101]\nseverity = "huge"\n', "'huge' is not one of"),
    ('[rules.XX1]\n', "does not match"),
    ('colour = "blue"\n', "Additional properties are not allowed"),
    ('not toml =', "not valid TOML"),
])
def test_bad_config_is_one_clear_error(tmp_path, toml, message):
    path = tmp_path / "advisor.toml"
    path.write_text(toml)
    with pytest.raises(InputError) as raised:
        load_config(path)
    assert str(raised.value).startswith(str(path)) and message in str(raised.value)


run = run_in_process


def test_ignores_severities_and_the_baseline_through_the_cli(tmp_path):
    (tmp_path / "d" / "app").mkdir(parents=True)
    (tmp_path / "d" / "app" / "posts.bson").write_bytes(bson.encode({"_id": 1, "tags": list(range(300))}))
    (tmp_path / "advisor.toml").write_text(
        '[rules.DM101]\nseverity = "low"\n[[ignore]]\nrule = "DM602"\nreason = "posts are immutable"\n')
    done = run("scan", "d", "--out", "r", "--config", "advisor.toml", "--write-baseline", "base.json", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert [(f["rule"], f["severity"]) for f in report["findings"]] == [("DM101", "low")]
    assert report["ignored"] == [{"rule": "DM602", "namespace": "app.posts", "path": None, "reason": "posts are immutable"}]
    (tmp_path / "advisor.toml").write_text('baseline = "base.json"\n')
    again = run("scan", "d", "--out", "r2", "--config", "advisor.toml", "-q", cwd=tmp_path)
    second = json.loads((tmp_path / "r2" / "report.json").read_text())
    assert again.returncode == 0
    assert second["findings"] == [f for f in second["findings"] if f["rule"] == "DM602"]  # only what was ignored before
    assert {b["rule"] for b in second["baselined"]} == {"DM101"}
