"""The `queries` table: presentation of the workload only."""

from __future__ import annotations

import json

from rich.table import Table

from nosql_advisor.workload.indexes import Recommendation, describe, plan_of
from nosql_advisor.workload.shapes import ShapeStats, Workload



def shape_text(stats: ShapeStats) -> str:
    text = json.dumps(stats.predicate, separators=(", ", ": "))
    if stats.sort:
        text += " sort " + describe([(p, d) for p, d in stats.sort])
    if stats.key.lookups:
        text += " $lookup " + ", ".join(stats.key.lookups)
    return text


def shapes_table(workload: Workload, indexes: dict[str, list[dict]], top: int) -> Table:
    table = Table(title=f"top {min(top, len(workload.shapes))} of {len(workload.shapes):,} query shapes "
                        f"({workload.operations():,} operations), by total time")
    for column in ("namespace", "op", "shape", "count", "total ms", "p95 ms", "examined/returned", "plan", "in-memory sorts", "id"):
        table.add_column(column, overflow="fold", justify="right" if column in ("count", "total ms", "p95 ms", "examined/returned", "in-memory sorts") else "left")
    for stats in workload.ranked()[:top]:
        plan = plan_of(stats, indexes.get(stats.key.namespace, []))
        table.add_row(stats.key.namespace, stats.key.op, shape_text(stats), f"{stats.count:,}", f"{stats.total_ms:,.0f}",
                      f"{stats.p95_ms:,.0f}" if stats.p95_ms is not None else "",
                      f"{stats.ratio:,.1f}" if stats.ratio is not None else "",
                      plan.summary + (" (derived)" if plan.derived else ""),
                      f"{stats.in_memory_sorts:,}" if stats.in_memory_sorts else "", stats.id)
    return table


def advice_table(recommendations: list[Recommendation]) -> Table:
    table = Table(title="recommended indexes (ESR)")
    for column in ("namespace", "keys", "serves", "operations", "total ms", "replaces"):
        table.add_column(column, overflow="fold")
    for r in recommendations:
        impact = r.impact()
        table.add_row(r.namespace, describe(r.keys), ", ".join(sorted(s.id for s in r.serves)),
                      f"{impact['operations']:,}", f"{impact['total_ms']:,.0f}", r.replaces or "")
    return table


def workload_json(workload: Workload, top: int) -> list[dict]:
    return [s.to_dict() for s in workload.ranked()[:top]]
