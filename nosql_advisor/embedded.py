"""The embedded default: the demo database in a local SecantusDB process, scanned over the wire.

`./scripts/demo` runs this. It exercises exactly the path a user's live scan takes (a real
MongoDB-wire server on TCP, $sample, listIndexes...), with nothing to install but the [demo]
extra.
"""

from __future__ import annotations

import json
from pathlib import Path

from nosql_advisor.progress import STDERR, Reporter
from nosql_advisor.advise import Advice, advise
from nosql_advisor.report.write import write_report
from nosql_advisor.scan import Landscape, ScanOptions, scan_sources
from nosql_advisor.schema.load import load_declared
from nosql_advisor.sources.base import Selection


def run_demo(out: Path, seed: int, scale: float, sample_size: int | None, reporter: Reporter,
             schemas: Path | None = None) -> tuple[Landscape, Advice]:
    """Start a server, load `shop`, scan it, write OUT/report.json and OUT/manifest.json, stop.

    The declared schemas are the demo's own (written to OUT/schemas) unless `schemas` is given."""
    from nosql_advisor.demo import build_demo, load_live, write_schema_files
    from nosql_advisor.demo.server import start_secantus

    demo = build_demo(seed=seed, scale=scale)
    out.mkdir(parents=True, exist_ok=True)
    if schemas is None:
        schemas = out / "schemas"
        write_schema_files(demo, schemas)
    declared, _ = load_declared(schemas, keep_going=False)
    STDERR.print("starting SecantusDB (local process, loopback, temporary storage)...", markup=False)
    with start_secantus() as server:
        STDERR.print(f"loading the demo database '{demo.database}' into {server.uri} ...", markup=False)
        load_live(demo, server.uri)
        selection = Selection(databases=(demo.database,), sample_size=sample_size)
        landscape = scan_sources([server.uri], ScanOptions(selection=selection, schemas=declared), reporter)
    advice = advise(landscape)
    write_report(out, landscape, advice)
    (out / "manifest.json").write_text(json.dumps(demo.manifest(), indent=2) + "\n", encoding="utf-8")
    return landscape, advice
