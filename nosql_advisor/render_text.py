"""The terminal view of shapes (Rich): one table per collection, fields indented by depth."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from nosql_advisor.shape import CollectionShape, FieldShape


def shape_table(shape: CollectionShape) -> Group:
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column, justify in (("path", "left"), ("present", "right"), ("types", "left"),
                            ("array len min/p50/p95/max", "left"), ("values", "left"),
                            ("distinct", "right")):
        table.add_column(column, justify=justify)
    for field in shape.fields:
        table.add_row(
            Text("  " * (field.depth - 1) + field.path.rsplit(".", 1)[-1]),
            f"{field.probability:.1%}",
            _types(field.types, field.count),
            _array(field),
            _values(field),
            f"{field.distinct_estimate:,}" if field.distinct_estimate else "",
        )
    return Group(_header(shape), table, Text(""))


def _header(shape: CollectionShape) -> Text:
    text = Text(shape.namespace, style="bold cyan")
    estimated = f" of {shape.documents_estimated:,}" if shape.documents_estimated is not None else ""
    text.append(f"  {shape.sampled:,}{estimated} documents read")
    if shape.document_size:
        size = shape.document_size
        text.append(f"  size p50 {_bytes(size['p50'])}, p99 {_bytes(size['p99'])}, max {_bytes(size['max'])}")
    if shape.created_range:
        text.append(f"  created {shape.created_range['min'][:10]} .. {shape.created_range['max'][:10]}")
    text.append(f"  depth {shape.max_depth}")
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


def print_shapes(shapes: list[CollectionShape], console: Console) -> None:
    for shape in shapes:
        console.print(shape_table(shape))


def summary_table(collections: list[CollectionShape]) -> Table:
    """One line per collection: what was read and how big documents are."""
    table = Table(title="collections", title_justify="left", header_style="bold")
    for column in ("namespace", "documents", "read", "fields", "size p99", "size max", "depth"):
        table.add_column(column, justify="left" if column == "namespace" else "right")
    for shape in collections:
        size = shape.document_size or {}
        table.add_row(
            shape.namespace,
            f"{shape.documents_estimated:,}" if shape.documents_estimated is not None else "?",
            f"{shape.sampled:,}",
            f"{len(shape.fields):,}" + ("+" if shape.capped else ""),
            _bytes(size["p99"]) if size else "",
            _bytes(size["max"]) if size else "",
            str(shape.max_depth),
        )
    return table


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


def findings_summary(findings: list, limit: int = 15) -> Table:
    """The end-of-scan view: most severe first, one line each; messages are in the report."""
    rank = {name: i for i, name in enumerate(("critical", "high", "medium", "low", "info"))}
    ordered = sorted(findings, key=lambda f: (rank.get(f.severity, 9), f.namespace, f.rule, f.path or ""))
    counts = ", ".join(f"{sum(f.severity == s for f in findings)} {s}" for s in rank if any(f.severity == s for f in findings))
    table = Table(title=f"findings: {counts}", title_justify="left", header_style="bold")
    for column in ("severity", "rule", "namespace", "path"):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for finding in ordered[:limit]:
        table.add_row(Text(finding.severity, style=SEVERITY_STYLE.get(finding.severity, "")), finding.rule,
                      finding.namespace, finding.path or "")
    if len(ordered) > limit:
        table.caption = f"{len(ordered) - limit} more in report.json"
    return table


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
