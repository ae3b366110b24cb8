"""The plan of an exact pass (`--exact`), printed before it runs so a person can approve the load.

The exact pass costs the server one full collection scan per collection; before any of it runs
the tool lists what it would read, with the estimated documents and data bytes the server itself
reports (`count` and `$collStats` storageStats.size, metadata reads that scan nothing), the read
preference the reads go to, and which collections `--max-docs` leaves sampled. The scan then
asks (or needs `--yes`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import parse_qsl

from nosql_advisor.errors import ConnectError
from nosql_advisor.sources import live

SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


@dataclass(frozen=True)
class PlanEntry:
    namespace: str
    documents: int | None  # estimated (the count command); None when the server did not answer
    data_bytes: int | None  # $collStats storageStats.size; None when the server does not measure it


def plan_exact(uri: str, options) -> list[PlanEntry]:
    """The selected collections of the server at `uri` (`options` a scan.ScanOptions), each with
    its estimated documents and data bytes. Read-only: the same listing reads the scan makes
    (listDatabases, listCollections, count, listIndexes, $collStats). Cannot connect: the
    ConnectError of the listing (exit 3), before anything is asked."""
    return asyncio.run(_plan(uri, options))


def reachable_plans(uris: list[str], options) -> tuple[list[tuple[str, list[PlanEntry]]], list[str]]:
    """The plan of each server that answers, and a line for each that does not: the run carries
    on without it (the scan reports it, exit 3, as it does without --exact)."""
    plans, unreached = [], []
    for uri in uris:
        try:
            plans.append((uri, plan_exact(uri, options)))
        except ConnectError as error:
            unreached.append(f"exact plan on {live.redact_uri(uri)}: not planned, {error}")
    return plans, unreached


async def _plan(uri: str, options) -> list[PlanEntry]:
    client = live.open_client(uri, options.live)
    try:
        reader = live.Reader(client, uri, options.live)
        infos = await live.list_collections(reader, options.selection, [])  # the scan reports problems
    finally:
        await client.close()
    return [PlanEntry(info.namespace, info.estimated_count, (info.storage or {}).get("size")) for info in infos]


def exceeds_max_docs(entry: PlanEntry, options) -> bool:
    """Whether --max-docs leaves this collection sampled: the exact pass would read about its
    estimated documents on top of the sample, more than --max-docs. The same test as exact.py's
    read_exact (an unknown count counts as 0 there too, so the plan says what the scan does)."""
    if options.max_docs is None:
        return False
    documents = entry.documents or 0
    sample = live.capped_sample_size(options.selection.sample_size, options.max_docs)
    return documents + min(sample, documents) > options.max_docs


def read_whole(entry: PlanEntry, options) -> bool:
    """Whether the sample reads the whole collection (a find), so no exact pass runs: its
    figures are already exact (exact.py skips it the same way)."""
    sample = live.capped_sample_size(options.selection.sample_size, options.max_docs)
    return entry.documents is not None and entry.documents <= sample


def exact_entries(entries: list[PlanEntry], options) -> list[PlanEntry]:
    """The collections the exact pass will read (not read whole by the sample, and not left
    sampled by --max-docs)."""
    return [entry for entry in entries if not exceeds_max_docs(entry, options) and not read_whole(entry, options)]


def plan_lines(entries: list[PlanEntry], options, uri: str = "") -> list[str]:
    """What the exact pass will read and cost, one line per collection, then the totals."""
    exact = exact_entries(entries, options)
    where = f" on {live.redact_uri(uri)}" if uri else ""
    lines = [f"exact plan{where}: {len(exact)} of {plural(len(entries), 'collection')} read exactly"]
    width = max((len(entry.namespace) for entry in entries), default=0)
    for entry in entries:
        left = ("  left sampled: with the sample it would read more than --max-docs" if exceeds_max_docs(entry, options)
                else "  read whole by the sample: already exact" if read_whole(entry, options) else "")
        lines.append(f"  {entry.namespace:<{width}}  {documents_text(entry.documents)}, "
                     f"{size_text(entry.data_bytes)}{left}")
    documents = total_documents(exact)
    if exact:
        lines.append(f"cost: one full collection scan per collection on {reads_on(uri)}, about "
                     f"{plural(documents, 'document')} / {total_bytes(exact)}; one aggregate per collection, more (at most 4) "
                     "where documents nest deeper than the sample showed, allowDiskUse, "
                     f"maxTimeMS {options.live.max_time_ms}")
    else:
        lines.append("cost: no exact pass (every collection stays sampled)")
    lines += ceiling_lines(entries, exact, options, documents)
    return lines


def ceiling_lines(entries: list[PlanEntry], exact: list[PlanEntry], options, documents: int) -> list[str]:
    """What --max-docs and --rate change in the plan."""
    lines = []
    sampled = [entry.namespace for entry in entries if exceeds_max_docs(entry, options)]
    if sampled:
        shown = ", ".join(sampled[:5]) + (f" and {len(sampled) - 5} more" if len(sampled) > 5 else "")
        lines.append(f"--max-docs {options.max_docs:,} leaves {plural(len(sampled), 'collection')} sampled (no exact pass): {shown}")
    rate = getattr(options.throttle, "rate", None)
    if rate and exact and round(documents / rate) >= 1:  # no "at least 0 s"
        lines.append(f"--rate {rate:g}: the exact pass pauses between collections: at least "
                     f"{documents / rate:,.0f} s in all for its {plural(documents, 'document')}")
    return lines


def question(entries: list[PlanEntry], options) -> str:
    """The confirmation asked at a terminal."""
    exact = exact_entries(entries, options)
    return (f"Run the exact pass over {plural(len(exact), 'collection')} "
            f"(about {plural(total_documents(exact), 'document')})?")


def plural(n: int, word: str) -> str:
    """'1 document', '2 documents'."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def total_documents(entries: list[PlanEntry]) -> int:
    return sum(entry.documents or 0 for entry in entries)


def total_bytes(entries: list[PlanEntry]) -> str:
    """The summed data size; "size unknown" when no collection's is known, "at least" when some are."""
    known = [entry.data_bytes for entry in entries if entry.data_bytes is not None]
    if not known:
        return "size unknown (the server does not report it)"
    text = size_text(sum(known))
    return text if len(known) == len(entries) else f"at least {text} (some sizes unknown)"


def documents_text(documents: int | None) -> str:
    return "document count unknown" if documents is None else f"about {plural(documents, 'document')}"


def size_text(size: int | None) -> str:
    if size is None:
        return "size unknown"
    value = float(size)
    for unit in SIZE_UNITS:
        if value < 1024 or unit == SIZE_UNITS[-1]:
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{size} B"


def reads_on(uri: str) -> str:
    """Where the reads go: the URI's readPreference, else the tool's default."""
    options = {name.lower(): value for name, value in parse_qsl(uri.partition("?")[2])}
    chosen = options.get("readpreference")
    if chosen:
        return f"the members readPreference={chosen} picks"
    return "secondaries (secondaryPreferred)"
