"""Everything `scan --out DIR` writes, in one place."""

from __future__ import annotations

from pathlib import Path

from nosql_advisor.advise import Advice
from nosql_advisor.errors import InputError
from nosql_advisor.report.json_report import build_report, dumps
from nosql_advisor.report.validators_out import write_validators
from nosql_advisor.scan import Landscape


def write_report(out: Path, landscape: Landscape, advice: Advice) -> list[Path]:
    """DIR/report.json and DIR/validators/<db>.<coll>.json + .js; returns the paths written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        report = out / "report.json"
        report.write_text(dumps(build_report(landscape, advice)), encoding="utf-8")
        return [report, *write_validators(out / "validators", advice.validators)]
    except OSError as error:
        raise InputError(f"{out}: cannot write the report ({error.strerror or error})") from None
