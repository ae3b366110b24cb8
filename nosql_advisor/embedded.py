"""The embedded default: the demo database in a local SecantusDB process, scanned over the wire.

`./scripts/demo` runs this. It exercises exactly the path a user's live scan takes (a real
MongoDB-wire server on TCP, $sample, listIndexes...), with nothing to install but the [demo]
extra.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from nosql_advisor.progress import STDERR, Reporter
from nosql_advisor.advise import Advice, advise
from nosql_advisor.report.json_report import build_report
from nosql_advisor.report.output_folder import make_folder, write_text
from nosql_advisor.report.write import write_forms
from nosql_advisor.scan import Landscape, ScanOptions, scan_sources
from nosql_advisor.schema.load import load_declared
from nosql_advisor.sources.base import Selection


def run_demo(out: Path, seed: int, scale: float, sample_size: int | None, reporter: Reporter,
             schemas: Path | None = None) -> tuple[Landscape, Advice]:
    """Start a server, load `shop`, scan it with the demo's mongod log as its workload, write
    OUT/report.json, OUT/manifest.json and OUT/mongod.log, stop.

    The declared schemas are the demo's own (written to OUT/schemas) unless `schemas` is given.
    They are read from a scratch folder during the scan and written with the report, so OUT is
    replaced whole at the end (the previous demo report stays until then)."""
    from nosql_advisor.demo import build_demo, load_live, write_schema_files
    from nosql_advisor.demo.server import start_secantus
    from nosql_advisor.demo.workload import write_log
    from nosql_advisor.workload import read_workload

    demo = build_demo(seed=seed, scale=scale)
    with tempfile.TemporaryDirectory(prefix="nosql-advisor-demo-") as scratch:
        own = schemas is None
        if own:
            schemas = Path(scratch) / "schemas"
            write_schema_files(demo, schemas)
        declared, _ = load_declared(schemas, keep_going=False)
        STDERR.print("starting SecantusDB (local process, loopback, temporary storage)...", markup=False)
        with start_secantus() as server:
            STDERR.print(f"loading the demo database '{demo.database}' into {server.uri} ...", markup=False)
            load_live(demo, server.uri)
            selection = Selection(databases=(demo.database,), sample_size=sample_size)
            landscape = scan_sources([server.uri], ScanOptions(selection=selection, schemas=declared), reporter)
        # the demo's workload: a mongod log of its writes (DM408 and its clean controls), read as --log
        log = write_log(demo, Path(scratch))
        landscape.workload = read_workload(logs=[log], selection=selection)
        advice = advise(landscape)
        report = build_report(landscape, advice)
        if own:
            report = moved_paths(report, schemas, out / "schemas")
        report = moved_paths(report, log, out / log.name)

        def manifest_and_schemas(folder: Path) -> list[Path]:
            written = [write_text(folder / "manifest.json", json.dumps(demo.manifest(), indent=2) + "\n"),
                       write_text(folder / log.name, log.read_text(encoding="utf-8"))]
            return written + (copy_tree(schemas, folder / "schemas") if own else [])

        write_forms(out, report, advice.validators, extra=manifest_and_schemas)
    return landscape, advice


def moved_paths(report: dict, scratch: Path, final: Path) -> dict:
    """The report with the scratch folder's path replaced by where its files end up (its name is
    random, so nothing else can match it)."""
    old, new = json.dumps(str(scratch))[1:-1], json.dumps(str(final))[1:-1]
    return json.loads(json.dumps(report).replace(old, new))


def copy_tree(source: Path, target: Path) -> list[Path]:
    written = []
    for folder, _, files in sorted(os.walk(source)):
        into = make_folder(target / Path(folder).relative_to(source))
        written += [write_text(into / name, (Path(folder) / name).read_text(encoding="utf-8")) for name in sorted(files)]
    return written
