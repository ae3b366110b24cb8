"""report.json follows schemas/report.schema.json, the same input gives the same report in every
form, and report.sarif is valid SARIF 2.1.0 (the official schema, ../shared/schemas-ext)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest

from nosql_advisor.demo import build_demo, write_dump, write_schema_files

from helpers import ROOT, SARIF_SCHEMA, SCHEMA, run_cli, sarif_errors, valid

FORMS = ("report.json", "report.md", "report.html", "report.sarif")


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Each run its own process: "repeats" means across processes (hash seeds, run keys)."""
    return run_cli(*args, cwd=tmp_path)


def scan(tmp_path: Path, *sources: str, out: str = "out") -> dict:
    done = run(tmp_path, "scan", *sources, "--out", out, "-q")
    assert done.returncode in (0, 2), done.stderr
    return json.loads((tmp_path / out / "report.json").read_text())


needs_sarif_schema = pytest.mark.skipif(not SARIF_SCHEMA.exists(),
                                        reason="../shared/schemas-ext/sarif-schema-2.1.0.json not present")


@pytest.fixture(scope="module")
def demo():
    return build_demo(seed=5, scale=0.03)


@pytest.fixture(scope="module")
def demo_scans(tmp_path_factory, demo) -> Path:
    """The demo database (dump + its declared schema files) scanned twice, into a/ and b/."""
    folder = tmp_path_factory.mktemp("demo")
    write_dump(demo, folder / "dump")
    write_schema_files(demo, folder / "schemas")
    for out in ("a", "b"):
        scan(folder, "dump", "--schemas", "schemas", out=out)
    return folder


def test_the_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_a_report_of_the_demo_database_is_valid_and_repeats(demo_scans):
    first = json.loads((demo_scans / "a" / "report.json").read_text())
    second = json.loads((demo_scans / "b" / "report.json").read_text())
    assert valid(first) == []
    assert first["findings"] and first["collections"]
    assert all("scale_risk" in c for c in first["collections"])
    first.pop("generated_at"), second.pop("generated_at")
    assert json.dumps(first) == json.dumps(second)
    validators = sorted(p.name for p in (demo_scans / "a" / "validators").iterdir())
    assert "shop.orders.json" in validators and "shop.orders.js" in validators


def test_every_form_repeats_byte_for_byte_apart_from_generated_at(demo_scans):
    stamps = [json.loads((demo_scans / out / "report.json").read_text())["generated_at"] for out in ("a", "b")]
    assert stamps[0] != stamps[1]
    for name in FORMS:
        first = (demo_scans / "a" / name).read_text().replace(stamps[0], "GENERATED_AT")
        second = (demo_scans / "b" / name).read_text().replace(stamps[1], "GENERATED_AT")
        assert first == second, name
    results = [json.loads((demo_scans / out / "report.sarif").read_text())["runs"][0]["results"] for out in ("a", "b")]
    assert results[0] == results[1]


@needs_sarif_schema
def test_the_sarif_of_the_demo_database_is_valid_and_complete(demo_scans):
    log = json.loads((demo_scans / "a" / "report.sarif").read_text())
    report = json.loads((demo_scans / "a" / "report.json").read_text())
    assert sarif_errors(log) == []
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids)) and {"DM101", "DM503", "DM702"} <= set(ids)
    page = next(rule for rule in rules if rule["id"] == "DM101")["help"]["markdown"]
    assert page == (ROOT / "nosql_advisor" / "rules" / "pages" / "DM101.md").read_text(encoding="utf-8")
    assert len(run_["results"]) == len(report["findings"])
    for result, finding in zip(run_["results"], report["findings"], strict=True):
        assert result["ruleId"] == finding["rule"] and rules[result["ruleIndex"]]["id"] == finding["rule"]
        assert finding["message"] in result["message"]["text"]


def test_sarif_locations_point_at_the_schema_file_line_of_the_field(demo_scans):
    """Each result with a schema file names that file and a line that holds the field's key (read
    back with plain text, not with the code under test); the others name the dump file."""
    log = json.loads((demo_scans / "a" / "report.sarif").read_text())
    located = 0
    for result in log["runs"][0]["results"]:
        namespace, path = result["properties"]["namespace"], result["properties"]["path"]
        physical = result["locations"][0]["physicalLocation"] if "locations" in result else None
        if "*" in namespace:  # a family of collections (DM106): no file to name, and no logical-only location
            assert "locations" not in result
            continue
        uri = physical["artifactLocation"]["uri"]
        if not uri.startswith("schemas/"):  # no schema file: the dump file the collection came from
            assert uri == f"dump/shop/{namespace.split('.', 1)[1]}.bson" and "region" not in physical
            assert not (demo_scans / "schemas" / "shop" / f"{namespace.split('.', 1)[1]}.json").exists()
            continue
        located += 1
        line = (demo_scans / uri).read_text().splitlines()[physical["region"]["startLine"] - 1]
        pointer = result["locations"][0]["message"]["text"].removeprefix("JSON pointer ")
        last = pointer.rsplit("/", 1)[-1]
        assert f'"{last}"' in line, (result["ruleId"], path, pointer, line)
        if path and result["ruleId"] != "DM504":  # undeclared fields point at their parent's properties
            assert pointer.endswith("/properties/" + path.replace(".", "/properties/")) or "/items/" in pointer
    assert located >= 10
    orphans = [r for r in log["runs"][0]["results"] if r["properties"]["namespace"] == "shop.api_clients"]
    assert orphans and all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "dump/shop/api_clients.bson"
                           for r in orphans)


def test_the_markdown_fits_a_pull_request_comment(demo_scans):
    text = (demo_scans / "a" / "report.md").read_text()
    report = json.loads((demo_scans / "a" / "report.json").read_text())
    assert len(text) < 65_536
    assert text.startswith("# nosql-advisor: scale-risk report\n")
    assert text.index("## Findings") < text.index("## Collections")
    table = text[text.index("## Findings"):text.index("## Index advice")]
    rows = [line for line in table.splitlines() if re.match(r"^\| (critical|high|medium|low|info) \| DM\d{3} \|", line)]
    assert len(rows) == len(report["findings"])
    assert text.count("<details>") == text.count("</details>") == len(report["collections"])


def test_the_report_shows_no_sampled_value(demo, demo_scans):
    """Emails, card numbers, IBANs, passwords and API keys of the demo documents appear in no form."""
    secrets = set()
    for name, fields in (("customers", ("email", "card_number", "iban", "phone")),
                         ("api_clients", ("api_key", "password", "aws_access_key_id"))):
        for document in demo.collection(name).documents:
            secrets.update(str(document[f]) for f in fields if isinstance(document.get(f), str) and len(document[f]) >= 6)
    assert len(secrets) > 20
    for form in FORMS:
        text = (demo_scans / "a" / form).read_text()
        leaked = [s for s in secrets if s in text]
        assert leaked == [], (form, leaked[:3])


def test_the_html_is_self_contained(demo_scans):
    html = (demo_scans / "a" / "report.html").read_text()
    assert "<script src" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    external = re.findall(r'(?:src|href)="((?:https?:)?//[^"]*)"', html)
    assert external == []
    assert html.count("<svg") >= 4


@pytest.mark.corpus
def test_a_report_of_every_corpus_dataset_is_valid(corpus_landscape, corpus_advice, tmp_path):
    """The forms `scan` writes, built from conftest's one scan of every dataset folder."""
    from nosql_advisor.report.json_report import build_report
    from nosql_advisor.report.write import write_forms

    write_forms(tmp_path / "out", build_report(corpus_landscape, corpus_advice), corpus_advice.validators)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert len(report["collections"]) == 21
    assert valid(report) == []
    if SARIF_SCHEMA.exists():
        assert sarif_errors(json.loads((tmp_path / "out" / "report.sarif").read_text())) == []
    assert len((tmp_path / "out" / "report.md").read_text()) < 65_536
