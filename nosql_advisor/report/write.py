"""Everything `scan --out DIR` writes, in one place, and every form from one report.json dict.

DIR/report.json, report.md, report.html, report.sarif, validators/<db>.<coll>.json + .js, and
indexes/<db>.js when the report holds index advice. Every form is rendered from the same dict
(the one written to report.json), so they cannot disagree.
"""

from __future__ import annotations

import json
from pathlib import Path

from nosql_advisor.advise import Advice
from nosql_advisor.errors import InputError
from nosql_advisor.report.html import render_html
from nosql_advisor.report.indexes_out import write_index_scripts
from nosql_advisor.report.json_report import build_report, dumps
from nosql_advisor.report.markdown import render_markdown
from nosql_advisor.report.sarif import render_sarif, rule_catalogue
from nosql_advisor.report.validators_out import write_validators
from nosql_advisor.scan import Landscape

FORMS = ("json", "md", "html", "sarif")
FILES = {"json": "report.json", "md": "report.md", "html": "report.html", "sarif": "report.sarif"}


def render(report: dict, form: str, docs_url: str | None = None, rules: list[dict] | None = None) -> str:
    """One form of the report as text."""
    if form == "json":
        return dumps(report)
    if form == "md":
        return render_markdown(report, docs_url)
    rules = rule_catalogue() if rules is None else rules
    if form == "html":
        return render_html(report, rules)
    if form == "sarif":
        return json.dumps(render_sarif(report, rules, docs_url), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown report form {form!r}")


def write_forms(out: Path, report: dict, validators: dict[str, dict], docs_url: str | None = None) -> list[Path]:
    """Write every form and the scripts into `out`; returns the paths written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        rules = rule_catalogue()
        written = []
        for form in FORMS:
            path = out / FILES[form]
            path.write_text(render(report, form, docs_url, rules), encoding="utf-8")
            written.append(path)
        written += write_validators(out / "validators", validators)
        written += write_index_scripts(out / "indexes", report.get("index_advice") or [])
        return written
    except OSError as error:
        raise InputError(f"{out}: cannot write the report ({error.strerror or error})") from None


def write_report(out: Path, landscape: Landscape, advice: Advice, docs_url: str | None = None) -> list[Path]:
    """Build report.json's dict from the scan and write every form; returns the paths written."""
    return write_forms(out, build_report(landscape, advice), advice.validators, docs_url)
