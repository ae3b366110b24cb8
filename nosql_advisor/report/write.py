"""Everything `scan --out DIR` writes, in one place, and every form from one report.json dict.

DIR/report.json, report.md, report.html, report.sarif, validators/<db>.<coll>.json + .js, and
indexes/<db>.js when the report holds index advice. Every form is rendered from the same dict
(the one written to report.json), so they cannot disagree. The set is written whole or not at
all (output_folder.py): a reader of DIR sees the previous run's set or this one's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from nosql_advisor.advise import Advice
from nosql_advisor.errors import EXIT_USAGE
from nosql_advisor.report.html import render_html
from nosql_advisor.report.indexes_out import write_index_scripts
from nosql_advisor.report.json_report import build_report, dumps
from nosql_advisor.report.markdown import render_markdown
from nosql_advisor.report.output_folder import write_folder, write_text
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


def write_forms(out: Path, report: dict, validators: dict[str, dict], docs_url: str | None = None,
                extra: Callable[[Path], list[Path]] | None = None) -> list[Path]:
    """Write every form and the scripts (and what `extra(folder)` writes) as the folder `out`,
    replacing the previous set whole; returns the paths written."""
    def write_all(folder: Path) -> list[Path]:
        written = write_forms_into(folder, report, validators, docs_url)
        return written + (extra(folder) if extra is not None else [])

    return write_folder(out, write_all)


def write_forms_into(folder: Path, report: dict, validators: dict[str, dict], docs_url: str | None = None) -> list[Path]:
    """Every form and script into the new, empty `folder`."""
    rules = rule_catalogue()
    written = [write_text(folder / FILES[form], render(report, form, docs_url, rules)) for form in FORMS]
    written += write_validators(folder / "validators", validators)
    written += write_index_scripts(folder / "indexes", report.get("index_advice") or [])
    return written


def write_report(out: Path, landscape: Landscape, advice: Advice, docs_url: str | None = None) -> list[Path]:
    """Build report.json's dict from the scan and write every form; returns the paths written."""
    return write_forms(out, build_report(landscape, advice), advice.validators, docs_url)


def has_report(landscape: Landscape) -> bool:
    """Whether the run has something to report. Not when every source failed and nothing was
    read (no collection, no query shape): written, that empty report would replace the previous
    good one with "0 findings" (the caller keeps the previous one and says so)."""
    workload = landscape.workload
    if landscape.collections or (workload is not None and getattr(workload, "shapes", None)):
        return True
    return not any(problem.exit_code >= EXIT_USAGE for problem in landscape.problems)
