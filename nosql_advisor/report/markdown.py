"""report.md: a pull-request comment (GitHub caps one at 65,536 characters).

A summary first, then the findings table, then per-collection detail in collapsed sections.
The whole stays under the budget: past it the table and the detail stop with a line saying how
many more are in report.html / report.json, never mid-row.
"""

from __future__ import annotations

from nosql_advisor.confidence import percent, share_text
from nosql_advisor.report.format import (counted, SEVERITY_ORDER, by_severity, checked_in_part_line, clean_report_line, duration,
                                         collection_read_line, incomplete_collections, mib_or_bytes, not_checked_lines,
                                         number, read_notes, rule_link, severity_rank, sorted_by_severity)
from nosql_advisor.report.risk import limit_phrase

BUDGET = 60_000  # under GitHub's 65,536 with room for a bot's own header
MAX_PRESENCE_ROWS = 20  # fields present in part, per collection


def cell(text: object) -> str:
    """One table cell: pipes and newlines would break the row, and GitHub reads `<` as HTML."""
    said = str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")
    return said.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: object) -> str:
    """An inline code span (namespaces, paths): entities would show literally inside one."""
    said = str(text if text is not None else "").replace("|", "\\|").replace("\n", " ").replace("`", "'")
    return f"`{said}`"


def render_markdown(report: dict, docs_url: str | None = None, budget: int = BUDGET) -> str:
    parts = [summary(report, docs_url)]
    used = len(parts[0])
    table, used = findings_table(report, docs_url, budget - used - 2_000)
    parts.append(table)
    used += len(table)
    parts.append(index_advice(report))
    used += len(parts[-1])
    details, shown = [], 0
    for collection in report["collections"]:
        block = collection_detail(collection, docs_url)
        if used + len(block) > budget - 300:
            break
        details.append(block)
        used += len(block)
        shown += 1
    parts.append("## Collections\n\n" + "".join(details))
    if shown < len(report["collections"]):
        parts.append(f"_{len(report['collections']) - shown} more collections in report.html and report.json._\n")
    return "\n".join(parts)


def summary(report: dict, docs_url: str | None) -> str:
    collections = report["collections"]
    documents = sum(c["scale_risk"]["documents"] for c in collections)
    counts = by_severity(report["findings"])
    said = ", ".join(f"**{counts[s]}** {s}" for s in SEVERITY_ORDER if counts.get(s))
    found = f", {counted(len(report['findings']), 'finding')} ({said})." if report["findings"] else f". {cell(clean_report_line(report))}"
    sources = ", ".join(f"`{s['location']}`" for s in report["sources"]) or "none"
    lines = [
        "# nosql-advisor: scale-risk report",
        "",
        f"{counted(len(collections), 'collection')}, {counted(documents, 'document')}{found}",
        f"Sources: {sources}. Generated {report['generated_at']} by nosql-advisor {report['tool']['version']}.",
    ]
    if not docs_url:
        lines.append("`nosql-advisor rules <id>` prints a rule's page (`--docs-url` makes the rule ids links).")
    if report.get("baselined"):
        lines.append(f"{len(report['baselined'])} findings accepted by the baseline are not counted.")
    if report.get("ignored"):
        lines.append(f"{len(report['ignored'])} findings ignored by the configuration (with reasons in report.json).")
    if report.get("problems"):
        lines.append(f"{len(report['problems']) + report.get('problems_omitted', 0)} input problems (see report.json).")
    incomplete = incomplete_collections(report)
    if incomplete:
        lines += ["", f"**{len(incomplete)} collections read only in part** (their figures cover what was read):", ""]
        lines += [f"- {cell(line)}" for line in incomplete]
    unchecked = not_checked_lines(report)
    if unchecked:
        lines += ["", "**Not checked:**", ""] + [f"- {cell(line)}" for line in unchecked]
    in_part = checked_in_part_line(report)
    if in_part:
        lines += ["", cell(in_part)]
    # a family finding tops each of its collections: listed once, on the family's glob
    risky = list({(r.get("family") or c["namespace"], r["rule"], r["path"]): (r.get("family") or c["namespace"], r)
                  for c in collections for r in c["scale_risk"]["top_risks"][:1]}.values())
    risky.sort(key=lambda pair: (severity_rank(pair[1]["severity"]), -pair[1]["evidence_weight"], pair[0]))
    if risky:
        lines += ["", "**Top risks:**", ""]
        for namespace, risk in risky[:5]:
            lines.append(f"- {code(namespace)} {rule_link(risk['rule'], docs_url)} ({risk['severity']}): {cell(risk['message'])}")
    return "\n".join(lines) + "\n"


def findings_table(report: dict, docs_url: str | None, budget: int) -> tuple[str, int]:
    findings = sorted_by_severity(report["findings"])
    head = "## Findings\n\n| severity | rule | namespace | path | what |\n|---|---|---|---|---|\n"
    if not findings:
        text = f"## Findings\n\n{cell(clean_report_line(report))}\n"
        return text, len(text)
    rows, used = [], len(head)
    for finding in findings:
        row = (f"| {finding['severity']} | {rule_link(finding['rule'], docs_url)} | {code(finding['namespace'])} "
               f"| {code(finding['path']) if finding.get('path') else ''} | {cell(finding['message'])} |\n")
        if used + len(row) > budget:
            break
        rows.append(row)
        used += len(row)
    text = head + "".join(rows)
    if len(rows) < len(findings):
        text += f"\n_{len(findings) - len(rows)} more findings (less severe) in report.html and report.json._\n"
    return text, len(text)


def index_advice(report: dict) -> str:
    advice = report.get("index_advice") or []
    if not advice:
        return ("## Index advice\n\nNone: no workload was read (scan with `--profile` or `--log` to get index "
                "advice from the queries that run).\n")
    lines = ["## Index advice", "", "| namespace | keys | reason |", "|---|---|---|"]
    for entry in advice:
        keys = ", ".join(f"{k}: {d}" for k, d in entry["keys"])
        lines.append(f"| {code(entry['namespace'])} | {code('{' + keys + '}')} | {cell(entry.get('reason', ''))} |")
    return "\n".join(lines) + "\n"


def collection_detail(collection: dict, docs_url: str | None) -> str:
    risk = collection["scale_risk"]
    growth = risk["growth"]
    size = risk["document_size"]
    worst = f", worst: {risk['top_risks'][0]['severity']}" if risk["top_risks"] else ", no findings"
    lines = [f"<details><summary><code>{cell(collection['namespace'])}</code>: {number(risk['documents'])} documents"
             f"{worst}</summary>", ""]
    read = collection_read_line(collection)
    facts = [f"documents {number(risk['documents'])} ({risk['documents_basis']})" + (f"; {read}" if read else "")]
    facts += [cell(note) for note in read_notes(collection.get("strata"), collection.get("exact"))]
    if growth and growth["per_day"] is not None:
        facts.append(f"growth {number(growth['per_day'])}/day, {number(growth['per_month'])}/month "
                     f"(ObjectId times {growth['first_created'][:10]} .. {growth['last_created'][:10]})")
    if size:
        facts.append(f"size mean {mib_or_bytes(size['mean'])}, p99 {mib_or_bytes(size['p99'])}, "
                     f"max {mib_or_bytes(size['max'])}")
    if limit_phrase(risk):
        facts.append(f"{limit_phrase(risk)} (growing arrays below)")
    indexes = risk["indexes"]
    if indexes["count"] is not None:
        facts.append(f"{indexes['count']} indexes")
    if risk["tenant_skew"]:
        skew = risk["tenant_skew"]
        facts.append(f"largest tenant ({skew['key']}) {skew['top_share']:.0%} of {skew['tenants']} tenants")
    lines += ["- " + fact for fact in facts]
    growing = [a for a in risk["arrays"] if a["growing"]]
    for array in growing:
        lines.append(f"- `{array['path']}` grows {array['per_month']:+.1f} elements/month: p99 {number(array['p99'])} now, "
                     f"{number(array['p99_in_12_months'])} in a year")
    lines += presence(collection.get("fields", []))
    if risk["top_risks"]:
        lines += ["", "| severity | rule | path | what |", "|---|---|---|---|"]
        for item in risk["top_risks"]:
            baselined = " (baselined)" if item["baselined"] else ""
            lines.append(f"| {item['severity']}{baselined} | {rule_link(item['rule'], docs_url)} | "
                         f"{cell(item['path'] or '')} | {cell(item['message'])} |")
    lines += ["", "</details>", "", ""]
    return "\n".join(lines)


def presence(fields: list[dict]) -> list[str]:
    """Field presence in a few lines: the paths held by every document read in one line (with
    the lowest bound of their intervals when sampled), those held in part in a table, each share
    with its 95% interval ("98.2% (96.9–99.0%)") when it was measured on a sample."""
    always = [f for f in fields if f["count"] and f["probability"] >= 1]
    part = [f for f in fields if f["probability"] < 1]
    lines = []
    if always:
        sampled = [f for f in always if f.get("probability_ci")]
        bound = (f" (each at least {percent(min(map(lower_bound_of, sampled)))} present, 95% confidence)"
                 if sampled else "")
        lines.append(f"- {counted(len(always), 'field path')} in every document (or subdocument) read{bound}")
    if part:
        lines += ["", "| field | present | types |", "|---|---|---|"]
        for entry in part[:MAX_PRESENCE_ROWS]:
            lines.append(f"| {code(entry['path'])} | {share_text(entry['probability'], entry.get('probability_ci'))} "
                         f"| {cell(', '.join(entry['types']))} |")
        if len(part) > MAX_PRESENCE_ROWS:
            lines.append(f"\n_{len(part) - MAX_PRESENCE_ROWS} more fields present in part in report.json._")
    return lines


def lower_bound_of(entry: dict) -> float:
    """A report.json field's low end of presence (confidence.lower_bound reads a FieldShape)."""
    return entry["probability_ci"][0] if entry.get("probability_ci") else entry["probability"]
