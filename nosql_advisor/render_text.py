"""The terminal views (Rich): shapes, one table per collection with fields indented by depth; drift;
rules; and the end-of-scan summary, read from the report.json dict like every other renderer."""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from nosql_advisor.confidence import share_text
from nosql_advisor.report.format import read_line, read_notes
from nosql_advisor.shape import CollectionShape, FieldShape


def shape_table(shape: CollectionShape, complete: bool = True) -> Group:
    """One collection: the line saying how it was read, then a row per field path."""
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column, justify in (("path", "left"), ("present", "right"), ("types", "left"),
                            ("array len min/p50/p95/max", "left"), ("values", "left"),
                            ("distinct", "right")):
        table.add_column(column, justify=justify)
    for field in shape.fields:
        table.add_row(
            _name(field),
            share_text(field.probability, field.probability_ci),
            _types(field.types, field.count),
            _array(field),
            _values(field),
            f"{field.distinct_estimate:,}" if field.distinct_estimate else "",
        )
    return Group(_header(shape, complete), table, Text(""))


def _name(field: FieldShape) -> Text:
    """The field's key indented by depth; a key only the exact pass found says so."""
    name = Text("  " * (field.depth - 1) + field.path.rsplit(".", 1)[-1])
    if field.found_only_by_exact:
        name.append(" (exact pass only)", style="yellow")
    return name


def _header(shape: CollectionShape, complete: bool = True) -> Text:
    """The collection, how it was read (confidence.py: sampled shares carry intervals), its sizes."""
    text = Text(shape.namespace, style="bold cyan")
    text.append(f"  {read_line(shape.method, shape.sampled, shape.documents_estimated, complete, shape.exact, bool(shape.strata))}")
    facts = []
    if shape.document_size:
        size = shape.document_size
        facts.append(f"size p50 {_bytes(size['p50'])}, p99 {_bytes(size['p99'])}, max {_bytes(size['max'])}")
    if shape.created_range:
        facts.append(f"created {shape.created_range['min'][:10]} .. {shape.created_range['max'][:10]}")
    facts.append(f"depth {shape.max_depth}")
    text.append("\n  " + "  ".join(facts))
    for note in read_notes(shape.strata, shape.exact):
        text.append(f"\n  {note}", style="yellow")
    if shape.capped:
        text.append(f"\n  capped at {shape.capped.limit} paths: {shape.capped.dropped_keys:,} keys not recorded",
                    style="yellow")
    return text


def _types(types: dict[str, int], total: int) -> str:
    if len(types) == 1:
        return next(iter(types))
    ranked = sorted(types.items(), key=lambda item: -item[1])
    return ", ".join(f"{name} {_share(count, total)}" for name, count in ranked)


def _share(count: int, total: int) -> str:
    """A percentage, or the plain count when it is too small to show as one (1 of 1000)."""
    share = count / total if total else 0
    return f"{share:.0%}" if 0.01 <= share <= 0.99 else f"{count:,}/{total:,}"


def _array(field: FieldShape) -> str:
    if not field.array:
        return ""
    lengths = field.array.lengths
    return f"{lengths['min']}/{lengths['p50']}/{lengths['p95']}/{lengths['max']}"


def _values(field: FieldShape) -> str:
    if field.number_range:
        return f"{field.number_range['min']} .. {field.number_range['max']}"
    if field.date_range:
        return f"{field.date_range['min'][:10]} .. {field.date_range['max'][:10]}"
    if field.string_length:
        length = field.string_length
        return f"len {length['min']}..{length['max']}"
    return ""


def _bytes(size: float) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size} MB"


def print_shapes(shapes: list[CollectionShape], console: Console, read_in_part: frozenset[str] = frozenset()) -> None:
    """`read_in_part`: the namespaces whose read stopped early (their status is not complete),
    which must not say every document was read."""
    for shape in shapes:
        console.print(shape_table(shape, shape.namespace not in read_in_part))


SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def findings_table(findings: list) -> Table:
    table = Table(title="findings", title_justify="left", header_style="bold")
    for column in ("rule", "severity", "namespace", "path"):
        table.add_column(column, no_wrap=True)
    table.add_column("what", overflow="fold", ratio=1)
    for finding in findings:
        table.add_row(finding.rule, Text(finding.severity, style=SEVERITY_STYLE.get(finding.severity, "")),
                      finding.namespace, finding.path or "", finding.message)
    return table


def print_drift(landscape, advice, drift: list, console: Console) -> None:
    """Per collection: what it was held against, how many documents failed, then the findings."""
    for collection in landscape.collections:
        namespace = collection.info.namespace
        declared = collection.declared
        line = Text(namespace, style="bold cyan")
        if declared is None:
            line.append("  no declared schema (no file, no validator)")
        else:
            line.append(f"  held against {declared.origin}")
            if declared.not_comparable:
                line.append(f"; not comparable: {', '.join(declared.not_comparable)}", style="yellow")
        if collection.validation is not None:
            result = collection.validation
            line.append(f"  {result.failed:,} of {result.checked:,} documents fail ({result.share:.1%})")
        console.print(line)
        missing = advice.never_seen.get(namespace, [])
        if missing:
            console.print(f"  declared but never seen: {', '.join(missing)}", markup=False, highlight=False)
        for said in advice.schema_disagreements.get(namespace, []):
            console.print(f"  file and server disagree: {said}", markup=False, highlight=False)
    if drift:
        console.print(findings_table(drift))
    else:
        console.print("no drift found")


def rules_table(rules: list) -> Table:
    table = Table(header_style="bold")
    for column in ("rule", "severity", "summary", "thresholds"):
        table.add_column(column, overflow="fold")
    for rule in rules:
        thresholds = ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in rule.thresholds.items())
        summary = Text(rule.summary)
        if not rule.checked:
            summary.append(" (not checked yet)", style="dim")
        table.add_row(rule.id, Text(rule.severity, style=SEVERITY_STYLE.get(rule.severity, "")), summary, thresholds)
    return table


def scan_summary(report: dict, written: list, failing: int | None = None, top: int = 8) -> Group:
    """The end of `scan` (and of the demo), from the report.json dict: the collections, the
    findings by severity, the top risks, whether the --fail-on gate failed, where the files went."""
    from nosql_advisor.report.format import (counted, SEVERITY_ORDER, by_severity, checked_in_part_line, clean_report_line,
                                             incomplete_collections, landscape_risks, mib_or_bytes, namespaces_of,
                                             not_checked_lines, number)

    table = Table(title="collections", title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
    table.add_column("namespace", overflow="fold", max_width=32)
    for column in ("docs", "/month", "p99 size", "indexes", "findings", "top risk"):
        table.add_column(column, justify="left" if column == "top risk" else "right", no_wrap=True,
                         min_width=len(column))
    findings_per: dict[str, int] = {}
    for finding in report["findings"]:
        for namespace in namespaces_of(finding):  # a family finding counts under each of its collections
            findings_per[namespace] = findings_per.get(namespace, 0) + 1
    for collection in report["collections"]:
        risk = collection["scale_risk"]
        growth, size, first = risk["growth"], risk["document_size"], (risk["top_risks"] or [None])[0]
        table.add_row(
            collection["namespace"], number(risk["documents"]),
            number(growth["per_month"]) if growth and growth["per_month"] is not None else "",
            mib_or_bytes(size["p99"]) if size else "",
            str(risk["indexes"]["count"]) if risk["indexes"]["count"] is not None else "?",
            str(findings_per.get(collection["namespace"], 0)),
            Text(first["rule"], style=SEVERITY_STYLE.get(first["severity"], "")) if first else "")
    counts = by_severity(report["findings"])
    line = Text(f"{counted(len(report['findings']), 'finding')}: " if report["findings"] else clean_report_line(report))
    for i, severity in enumerate(s for s in SEVERITY_ORDER if counts.get(s)):
        line.append(", " if i else "")
        line.append(f"{counts[severity]} {severity}", style=SEVERITY_STYLE.get(severity, ""))
    if report.get("baselined"):
        line.append(f" (+{len(report['baselined'])} baselined)")
    parts: list = [table, line]
    parts += [Text(f"read only in part: {said}", style="bold yellow") for said in incomplete_collections(report)]
    parts += [Text(f"not checked: {said}", style="yellow") for said in not_checked_lines(report)]
    parts += [Text(said, style="yellow") for said in filter(None, [checked_in_part_line(report)])]
    risks = landscape_risks(report, top)
    if risks:
        ranked = Table(title="top risks", title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
        for column in ("severity", "rule"):
            ranked.add_column(column, no_wrap=True)
        ranked.add_column("where", overflow="fold", max_width=36)
        ranked.add_column("what", overflow="fold", ratio=1)
        for risk in risks:
            where = risk["namespace"] + (f".{risk['path']}" if risk["path"] else "")
            ranked.add_row(Text(risk["severity"], style=SEVERITY_STYLE.get(risk["severity"], "")), risk["rule"],
                           where, risk["message"])
        parts.append(ranked)
    if failing is not None:
        parts.append(Text(f"--fail-on: {counted(failing, 'finding')} at or above the threshold: exit 1", style="bold red")
                     if failing else Text("--fail-on: no finding at or above the threshold", style="green"))
    if written:
        files = Text("written: ")
        files.append(", ".join(str(p) for p in written if p.parent == written[0].parent))
        extra = [p for p in written if p.parent != written[0].parent]
        if extra:
            files.append(f" + {len(extra)} scripts in {', '.join(sorted({str(p.parent) for p in extra}))}")
        parts.append(files)
        html = [p for p in written if p.name == "report.html"]
        if html:
            parts.append(Text(f"report: {html[0]}", style="bold"))
    else:
        parts.append(Text("no files written (give --out DIR for report.json, .md, .html, .sarif)", style="dim"))
    return Group(*parts)
