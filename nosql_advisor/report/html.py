"""report.html: one self-contained page (inline CSS, inline SVG charts, a few lines of inline
script for the filters), rendered from the report.json dict with the Jinja2 templates beside
this module. Nothing is fetched from the network; no sampled value is shown, only the figures
the shape and the findings hold.
"""

from __future__ import annotations

import json

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from nosql_advisor.report import charts
from nosql_advisor.confidence import share_text
from nosql_advisor.report.format import (SEVERITY_ORDER, by_severity, clean_report_line, collection_read_line,
                                         incomplete_collections, landscape_risks, duration, mib_or_bytes, namespaces_of,
                                         not_checked_by_reason, not_checked_line, number, read_notes, sorted_by_severity)

MAX_PRESENCE_FIELDS = 40
MAX_ARRAYS_CHART = 25
MAX_GROWTH_ROWS = 30
MAX_QUERY_SHAPES = 15


def environment() -> Environment:
    env = Environment(loader=PackageLoader("nosql_advisor.report", "templates"),
                      autoescape=select_autoescape(("html", "j2")), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(number=number, size=mib_or_bytes, months=duration, percent=lambda v: f"{v:.0%}",
                       filtered_under=filtered_under)
    return env


def render_html(report: dict, rules: list[dict]) -> str:
    """`rules` are the registered rules as plain data (sarif.rule_catalogue); the pages of the
    rules that have findings are embedded, so every rule link works offline."""
    findings = sorted_by_severity(report["findings"])
    involved = sorted({f["rule"] for f in report["findings"]}
                      | {r["rule"] for c in report["collections"] for r in c["scale_risk"]["top_risks"]})
    pages = [rule for rule in rules if rule["id"] in involved]
    return environment().get_template("report.html.j2").render(
        report=report,
        findings=findings,
        counts=by_severity(report["findings"]),
        severities=SEVERITY_ORDER,
        namespaces=sorted({n for f in findings for n in filtered_under(f)}),
        documents=sum(c["scale_risk"]["documents"] for c in report["collections"]),
        collections=[collection_view(c) for c in report["collections"]],
        size_chart=size_chart(report),
        arrays_chart=arrays_chart(report),
        growth_chart=growth_chart(report),
        shapes_chart=shapes_chart(report),
        top_risks=landscape_risks(report, 10),
        incomplete=incomplete_collections(report),
        not_checked=[(not_checked_line(reason, rules), rules) for reason, rules in not_checked_by_reason(report).items()],
        clean=clean_report_line(report),
        rules=pages,
        figures=figures,
    )


def filtered_under(finding: dict) -> list[str]:
    """The collection-filter choices that show a finding: its namespace and, for a family
    finding, each of its collections (format.namespaces_of)."""
    return sorted({finding["namespace"], *namespaces_of(finding)})


def figures(evidence: dict) -> list[tuple[str, str]]:
    """The flat numeric figures of a finding's evidence (counts, shares, lengths); strings and
    lists stay out, so nothing sampled can reach the page."""
    shown = []
    for key, value in evidence.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, (int, float)):
            shown.append((key, number(value)))
        elif isinstance(value, dict) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                       for v in value.values()) and key != "thresholds":
            shown.append((key, ", ".join(f"{k} {number(v)}" for k, v in value.items())))
    return shown


def collection_view(collection: dict) -> dict:
    """A collection's article: how it was read, its facts, and its field presence as bars
    labelled with the share and, when sampled, its 95% interval ("98.2% (96.9–99.0%)", as the
    terminal and report.md say it, drawn as a whisker)."""
    fields = [f for f in collection["fields"] if f["depth"] <= 2][:MAX_PRESENCE_FIELDS]
    presence = charts.bars([(f["path"], f["probability"], share_text(f["probability"], f.get("probability_ci")))
                            for f in fields], f"field presence in {collection['namespace']}", maximum=1.0,
                           intervals=[f.get("probability_ci") for f in fields], room=150) if fields else None
    return {"entry": collection, "risk": collection["scale_risk"], "presence": presence,
            "read": collection_read_line(collection),
            "notes": read_notes(collection.get("strata"), collection.get("exact")),
            "fields_total": len(collection["fields"]), "fields_shown": len(fields),
            "anchor": "c-" + "".join(ch if ch.isalnum() else "-" for ch in collection["namespace"])}


def size_chart(report: dict):
    rows = [(c["namespace"], c["document_size"]) for c in report["collections"] if c.get("document_size")]
    return charts.ranges(rows, "BSON document size per collection: min–max, p50–p95 box, p99 tick",
                         "bytes", fmt=mib_or_bytes) if rows else None


def arrays_chart(report: dict):
    rows = [(f"{c['namespace']}.{f['path']}", f["array"]["lengths"])
            for c in report["collections"] for f in c["fields"]
            if f.get("array") and f["array"].get("lengths") and f["array"]["lengths"]["max"] > 1]
    rows.sort(key=lambda row: (-row[1]["p99"], row[0]))
    return charts.ranges(rows[:MAX_ARRAYS_CHART], "array lengths: min–max, p50–p95 box, p99 tick",
                         "elements", fmt=number) if rows else None


def growth_chart(report: dict):
    """When each collection's documents were created (per month, where the shape counted them)
    and at what average rate, fastest first."""
    rows = [(c["namespace"], g["first_created"], g["last_created"], g["per_month"], c.get("created_per_month"))
            for c in report["collections"] for g in [c["scale_risk"]["growth"]] if g and g["per_month"] is not None]
    rows.sort(key=lambda row: (-row[3], row[0]))
    return charts.spans([(name, first, last, f"{number(rate)}/month", months)
                         for name, first, last, rate, months in rows[:MAX_GROWTH_ROWS]],
                        "collection growth: documents per month of ObjectId creation time") if rows else None


def query_shapes(report: dict) -> list[dict]:
    """The workload's query shapes by total time (report.json `query_shapes`, when a workload
    was read), most expensive first."""
    shapes = [s for s in report.get("query_shapes") or [] if isinstance(s.get("total_ms"), (int, float))]
    shapes.sort(key=lambda s: (-s["total_ms"], s["namespace"], str(s.get("id", ""))))
    return shapes[:MAX_QUERY_SHAPES]


def shapes_chart(report: dict):
    shapes = query_shapes(report)
    rows = [(f"{s['namespace']} {shape_label(s)}".strip(), float(s["total_ms"]),
             f"{number(s['total_ms'])} ms" + (f", {number(s['count'])}×" if s.get("count") is not None else ""))
            for s in shapes]
    return charts.bars(rows, "top query shapes by total time") if rows else None


def shape_label(shape: dict) -> str:
    """A query shape as one line: its own text when the workload gives one, else the operation
    and the predicate's structure (value kinds, never values), else its id."""
    if isinstance(shape.get("shape"), str):
        return shape["shape"]
    if isinstance(shape.get("predicate"), dict):
        return f"{shape.get('op', '')} {json.dumps(shape['predicate'], sort_keys=True, separators=(',', ':'))}".strip()
    return str(shape.get("id", ""))
