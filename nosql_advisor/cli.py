"""The `nosql-advisor` command. Parses options, calls the library, renders; no logic here."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from nosql_advisor import __version__, interrupt
from nosql_advisor.errors import (EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK, AdvisorError, InputError, Problem,
                                   ProblemList, place_of)
from nosql_advisor.progress import STDERR, Reporter
from nosql_advisor.redact import scrub_known
from nosql_advisor.sources.base import Selection

# The heavy modules (advise, rules, workload, sources.live with pymongo, the report renderers with
# jinja2, apply) are imported inside the commands that use them, so `--help` and each command load
# only what they need: every run, and every CLI test's subprocess, pays for no more.
if TYPE_CHECKING:
    from nosql_advisor.config import Config
    from nosql_advisor.scan import Landscape, ScanOptions

PROBLEMS_PER_PLACE = 10
# The option defaults, equal to shape/infer.py's and sources/live.py's (tests/test_loose_ends_11.py
# holds them equal): importing those modules for a default would load pymongo for `--help`.
DEFAULT_MAX_PATHS = 5000
DEFAULT_MAX_TIME_MS = 60_000

app = typer.Typer(
    name="nosql-advisor",
    help="Infer the shape of MongoDB collections (live server, mongodump, mongoexport) and "
         "advise on the data model.\n\n"
         "Examples:\n\n"
         "  nosql-advisor shape mongodb://localhost:27017 --db shop\n\n"
         "  nosql-advisor shape dump/ --collection 'orders*'\n\n"
         "  nosql-advisor scan exports/shop/orders.json.gz --out report/",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

Sources = Annotated[list[str], typer.Argument(
    help="Where the documents are: a `mongodb://` or `mongodb+srv://` URI (read-only, "
         "`secondaryPreferred`), a mongodump directory (`dump/` or `dump/shop/`), or mongoexport "
         "files (`shop/orders.json.gz`, NDJSON or a JSON array). Several are scanned as one "
         "landscape. Example: `dump/ mongodb://replica:27017/?replicaSet=rs0`. To keep a password "
         "out of `ps` and shell history, give `env:NAME` (the URI is the value of the environment "
         "variable NAME) or `file:PATH` (the first line of that file). Example: `env:MONGODB_URI`",
    show_default=False, metavar="SOURCE...")]
Databases = Annotated[Optional[list[str]], typer.Option(
    "--db", help="Only databases matching this glob (repeatable). Default: all but admin, "
                 "local, config. Example: `--db shop --db 'tenant_*'`", show_default=False)]
Collections = Annotated[Optional[list[str]], typer.Option(
    "--collection", "-c", help="Only collections matching this glob (repeatable); system.* "
                               "collections are always skipped. Example: `-c orders -c 'events_*'`",
    show_default=False)]
SampleSize = Annotated[Optional[int], typer.Option(
    "--sample-size", "-n", min=1,
    help="Documents per collection. Live: `$sample` of N (default 1000; the whole collection "
         "when smaller). Files: every document unless given; then a file of at most N records is "
         "read whole (exact), a larger one gives a seeded uniform sample of N (holding N raw "
         "records in memory). Shares of a sample carry 95% intervals. Example: `-n 5000`", show_default=False)]
Seed = Annotated[int, typer.Option(help="Seed of the file sample, so a sampled run can be repeated. Example: `-n 5000 --seed 7`")]
MaxPaths = Annotated[int, typer.Option(
    "--max-paths", min=1, help="Cap on distinct field paths per collection, so data used as keys "
                               "cannot exhaust memory; past it the shape says what was left out. "
                               "Example: `--max-paths 20000`")]
Concurrency = Annotated[int, typer.Option(min=1, help="Live: collections sampled at once. Example: `--concurrency 8`")]
Workers = Annotated[Optional[int], typer.Option(
    min=1, help="Files: processes that decode and infer one large file (8 MB and up) read whole. "
                "Default: the number of cores, at most 4. `--workers 1` keeps to one core. Example: `--workers 2`")]
MaxTime = Annotated[int, typer.Option(
    "--max-time-ms", min=1, help="Live: maxTimeMS sent with every operation. Example: `--max-time-ms 120000`")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars, notes or summary; errors still go to stderr. Example: `-q`")]
Schemas = Annotated[Optional[Path], typer.Option(
    "--schemas", help="Folder of declared schemas, `DIR/<db>/<collection>.json` (a $jsonSchema, "
                      "`{\"$jsonSchema\": ...}` or a whole validator document). Default: `schemas/` "
                      "when the current folder has one. Example: `--schemas db/schemas`",
    show_default=False, file_okay=False)]
KeepGoing = Annotated[bool, typer.Option(
    "--keep-going", help="A bad schema file becomes an error line (exit 2 at the end) and the "
                         "other collections are still compared, instead of stopping at once. Example: `--keep-going`")]


def positive_rate(value: float | None) -> float | None:
    """A ceiling is a finite number above 0: `nan` and `inf` would switch it off unseen."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value:g} is not a number above 0 (example: --rate 500)")
    return value


Exact = Annotated[bool, typer.Option(
    "--exact", help="Live: after the sample, the server computes the shape over every document "
                    "(one aggregation per collection, allowDiskUse, on secondaries; no document "
                    "leaves the server): exact counts, types, array lengths, ranges and sizes, and "
                    "the keys the sample missed. It first prints the plan (collections, estimated "
                    "documents and bytes) and asks. Files read whole are already exact. "
                    "Example: `--exact --yes`")]
ExactYes = Annotated[bool, typer.Option(
    "--yes", help="With --exact: do not ask (needed when stdin is not a terminal). Example: "
                  "`--exact --yes` in a CI job")]
MaxDocs = Annotated[Optional[int], typer.Option(
    "--max-docs", min=1, help="Documents read per collection, all passes together: a live sample "
                              "is at most N, --exact leaves a collection of more than N sampled "
                              "(the plan says which), a file of more than N is sampled to N. "
                              "Example: `--max-docs 100000`", show_default=False)]
Rate = Annotated[Optional[float], typer.Option(
    "--rate", help="Live: at most N documents per second across the whole scan (the samples of "
                   "all collections and the exact pass share it; the exact pass pauses between "
                   "collections); the run ends with what it read and paused. Files are not "
                   "throttled. Example: `--rate 500`", show_default=False, callback=positive_rate)]


class Stratify(str, Enum):
    time = "time"


StratifyBy = Annotated[Optional[Stratify], typer.Option(
    "--stratify", help="Live: sample equally from 10 age buckets of the collection's time range "
                       "(the _id's ObjectId time, or --time-field), so schema changes in recent "
                       "documents are seen even when old ones are most of the collection; the shape "
                       "lists the buckets and what each gave. Its shares weigh every bucket alike "
                       "(not estimates of the whole collection). Each bucket's $match + $sample reads "
                       "that bucket on the server. Example: `--stratify time -n 2000`", show_default=False)]
TimeField = Annotated[Optional[str], typer.Option(
    "--time-field", help="With --stratify time: the date field that gives a document's age, instead "
                         "of the _id. It wants an index on the field: without one each end of the "
                         "range, and each bucket, costs a collection scan. Example: "
                         "`--stratify time --time-field created_at`", show_default=False, metavar="FIELD")]


ConfigFile = Annotated[Optional[Path], typer.Option(
    "--config", help="TOML configuration: thresholds and severities per rule, tenant keys, global "
                     "collections, ignores (with a reason), baseline. Default: `[tool.nosql-advisor]` "
                     "in ./pyproject.toml when present. Example: `--config advisor.toml`",
    show_default=False, dir_okay=False)]


Profiles = Annotated[Optional[list[str]], typer.Option(
    "--profile", help="The profiler's slow operations: a `mongodb://` URI (reads `system.profile` of "
                      "the selected databases, with listIndexes and $indexStats; never changes the "
                      "profiling level) or a mongoexport of system.profile (NDJSON or JSON array, .gz). "
                      "Repeatable; `env:NAME` / `file:PATH` read the URI from an environment variable / a file. "
                      "Example: `--profile mongodb://replica:27017 --db shop`",
    show_default=False, metavar="URI|FILE")]
Logs = Annotated[Optional[list[Path]], typer.Option(
    "--log", help="mongod log files (4.4+ JSON or the older text format, plain or .gz): their slow "
                  "operations. Repeatable. Example: `--log mongod.log --log mongod.log.1.gz`",
    show_default=False, dir_okay=False, metavar="FILE")]


def run_workload(profile: list[str] | None, log: list[Path] | None, selection: Selection, max_time_ms: int,
                 quiet: bool, problems: list[Problem], workers: int | None = None):
    """The workload of --profile and --log (None when neither is given); its problems are printed
    and added to `problems`."""
    if not profile and not log:
        return None
    from nosql_advisor.parallel import default_workers
    from nosql_advisor.workload import read_workload

    workload = read_workload(profile or [], log or [], selection, max_time_ms, workers or default_workers())
    print_problems(workload.problems, quiet)
    problems.extend(workload.problems)
    return workload


def default_schemas(schemas: Path | None) -> Path | None:
    if schemas is not None:
        return schemas
    return Path("schemas") if Path("schemas").is_dir() else None


def absolute_docs_url(value: str | None) -> str | None:
    """SARIF's helpUri must be an absolute URI: a relative --docs-url would link nowhere."""
    if value is not None and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$", value):
        raise typer.BadParameter(f"{value!r} is not an absolute URL (example: https://example.org/rules)")
    return value


def scan_options(databases, collections, sample_size, seed, max_paths, concurrency, max_time_ms,
                 schemas: Path | None = None, keep_going: bool = False,
                 declared_schemas: bool = True, enum_limit: int = 0,
                 workers: int | None = None, settings: Config | None = None,
                 exact: bool = False, max_docs: int | None = None,
                 rate: float | None = None, stratify: str | None = None,
                 time_field: str | None = None) -> tuple[ScanOptions, list[Problem]]:
    """The scan's options from the command line. `rate` (--rate) becomes the one Throttle every
    live read of the run spends from; `stratify`/`time_field` go to the live reads."""
    from nosql_advisor.config import Config
    from nosql_advisor.parallel import default_workers
    from nosql_advisor.scan import ScanOptions
    from nosql_advisor.schema.load import load_declared
    from nosql_advisor.sources.live import LiveOptions
    from nosql_advisor.throttle import Throttle

    selection = Selection(tuple(databases or ()), tuple(collections or ()), sample_size, seed)
    folder = default_schemas(schemas) if declared_schemas else None
    declared, problems = load_declared(folder, keep_going)
    stratify = check_stratify(stratify, time_field)
    live = LiveOptions(max_time_ms=max_time_ms, concurrency=concurrency, stratify=stratify, time_field=time_field)
    tenant_keys = (settings or Config()).rules.tenant_keys
    return ScanOptions(selection, max_paths, live, declared, enum_limit, workers or default_workers(),
                       tenant_keys, exact=exact, max_docs=max_docs,
                       throttle=Throttle(rate) if rate is not None else None,
                       stratify=stratify, time_field=time_field), problems


def stratify_notes(sources: list[str], stratify) -> list[Problem]:
    from nosql_advisor.sources.live import stratify_notes as notes

    return notes(sources, getattr(stratify, "value", stratify))


def check_stratify(stratify, time_field: str | None) -> str | None:
    """--stratify as a plain string; --time-field only with it, and a field path (exit 2 otherwise)."""
    stratify = getattr(stratify, "value", stratify)
    if time_field is not None and stratify is None:
        raise InputError("--time-field needs --stratify time (it names the date field the age buckets are cut on)")
    if time_field is not None and (time_field.startswith("$") or "" in time_field.split(".")):
        raise InputError(f"--time-field {time_field!r} is not a field path (example: --time-field created_at)")
    return stratify


def run_scan(sources: list[str], options: tuple[ScanOptions, list[Problem]], quiet: bool) -> Landscape:
    from nosql_advisor.scan import scan_sources
    from nosql_advisor.shape.engine import engine_name

    engine_name()  # a bad NOSQL_ADVISOR_ENGINE is one line (exit 2) before anything is read
    scan_options_, schema_problems = options
    with Reporter(enabled=None if not quiet else False) as reporter:
        landscape = scan_sources(sources, scan_options_, reporter)
    landscape.problems[:0] = schema_problems
    print_problems(landscape.problems, quiet)
    if scan_options_.throttle is not None and not quiet:  # --rate: what the ceiling cost
        print_line(f"note: {scan_options_.throttle.summary()}")
    return landscape


def confirm_exact(sources: list[str], options: ScanOptions, yes: bool, quiet: bool) -> None:
    """--exact: the plan of each live source on stderr, then the question at a terminal, or
    --yes; with no live source, one note that a file read whole is already exact."""
    if not options.exact:
        return
    from nosql_advisor.plan import exact_entries, plan_lines, plural, question, reachable_plans, total_documents
    from nosql_advisor.redact import resolve_source
    from nosql_advisor.sources.live import is_uri

    uris = [uri for uri in map(resolve_source, sources) if is_uri(uri)]
    if not uris:
        if not quiet:
            print_line("note: --exact applies to live sources: a file read whole is already exact "
                       "(with --sample-size or --max-docs it is sampled); nothing more to run")
        return
    plans, unreached = reachable_plans(uris, options)  # an unreachable server: the scan reports it (exit 3)
    for uri, entries in plans if not quiet else ():
        for line in plan_lines(entries, options, uri):
            print_line(line)
    for line in unreached if not quiet else ():
        print_line(line)
    every = [entry for _, entries in plans for entry in entries]
    exact = exact_entries(every, options)
    if not exact or yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"--exact runs a full collection scan of {plural(len(exact), 'collection')} (about "
                         f"{plural(total_documents(exact), 'document')}): add --yes to confirm when stdin is "
                         "not a terminal (nothing was read)")
    if not typer.confirm(question(every, options)):
        print_line("nothing was read")
        raise typer.Exit(1)


def print_problems(problems: list[Problem], quiet: bool) -> None:
    """One line per problem, at most ten per file or namespace, then a count of the rest (those a
    ProblemList counted without keeping them included)."""
    shown: dict[str, int] = {}
    errors: set[str] = set()  # places with an error among their problems (else they are notes)
    for problem in problems:
        if quiet and not problem.exit_code:
            continue
        place = place_of(problem.where)
        shown[place] = shown.get(place, 0) + 1
        if problem.exit_code:
            errors.add(place)
        if shown[place] <= PROBLEMS_PER_PLACE:
            label = "error" if problem.exit_code else "note"
            STDERR.print(f"{label}: {scrub_known(str(problem))}", markup=False, highlight=False)
    omitted = problems.omitted if isinstance(problems, ProblemList) else {}
    for place in list(shown) + [place for place in omitted if place not in shown]:
        more = max(shown.get(place, 0) - PROBLEMS_PER_PLACE, 0) + omitted.get(place, 0)
        if more > 0:
            where = (f"report.json lists the first {problems.limit}, counts the rest" if omitted.get(place)
                     else "all are listed in report.json")
            label = "error" if place in errors else "note"
            STDERR.print(f"{label}: {place}: {more:,} more problems not shown ({where})", markup=False, highlight=False)


def exit_code(landscape: Landscape) -> int:
    """The highest exit code of the run's problems; 4 when a collection was read only in part."""
    incomplete = any(c.info.status != "complete" for c in landscape.collections)
    return max([p.exit_code for p in landscape.problems] + [EXIT_INCOMPLETE if incomplete else EXIT_OK])


@app.command()
def shape(
    sources: Sources,
    json_output: Annotated[bool, typer.Option("--json", help="Print the shapes as JSON (the "
                                              "`collections` of report.json, each with the `engine` that "
                                              "built it: native or python) instead of tables. Example: "
                                              "`shape dump/ --json > shapes.json`")] = False,
    db: Databases = None,
    collection: Collections = None,
    sample_size: SampleSize = None,
    seed: Seed = 0,
    max_paths: MaxPaths = DEFAULT_MAX_PATHS,
    concurrency: Concurrency = 4,
    workers: Workers = None,
    max_time_ms: MaxTime = DEFAULT_MAX_TIME_MS,
    exact: Exact = False,
    yes: ExactYes = False,
    max_docs: MaxDocs = None,
    rate: Rate = None,
    stratify: StratifyBy = None,
    time_field: TimeField = None,
    quiet: Quiet = False,
) -> None:
    """Print the inferred shape of every collection: each field path with how often it is
    present, its BSON types, array lengths, value ranges and distinct values.

    Examples:

      nosql-advisor shape dump/shop

      nosql-advisor shape mongodb://localhost:27017 --db shop -c orders -n 5000 --json

      nosql-advisor shape mongodb://replica:27017 --db shop --exact --yes --rate 2000

      nosql-advisor shape mongodb://replica:27017 --db shop -c events --stratify time -n 2000
    """
    options = scan_options(db, collection, sample_size, seed, max_paths, concurrency, max_time_ms,
                           declared_schemas=False, workers=workers, exact=exact, max_docs=max_docs, rate=rate,
                           stratify=stratify, time_field=time_field)
    options[1].extend(stratify_notes(sources, stratify))
    confirm_exact(sources, options[0], yes, quiet)
    landscape = run_scan(sources, options, quiet)
    from nosql_advisor.render_text import print_shapes

    shapes = [c.shape for c in landscape.collections]
    if json_output:
        from nosql_advisor.shape.engine import engine_name

        engine = engine_name()  # which engine built them: said in each shape, not part of the shape
        sys.stdout.write(json.dumps([{**s.to_dict(), "engine": engine} for s in shapes], indent=2) + "\n")
    else:
        print_shapes(shapes, Console(), read_in_part=frozenset(
            c.info.namespace for c in landscape.collections if c.info.status != "complete"))
    raise typer.Exit(exit_code(landscape))


class ReportFormat(str, Enum):
    text = "text"
    md = "md"
    json = "json"
    sarif = "sarif"


class Severity(str, Enum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


@app.command()
def scan(
    sources: Sources,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Folder for report.json, report.md, report.html, report.sarif, "
                            "validators/ and indexes/ (created when missing), replaced whole once the run is done; a "
                            "non-empty folder nosql-advisor did not write is refused. Example: `--out reports/2026-11-24`",
        file_okay=False, show_default=False)] = None,
    format: Annotated[ReportFormat, typer.Option(
        "--format", "-f", help="What goes to stdout: `text` (the summary tables), `md` (report.md, "
                               "for a PR comment), `json` (report.json) or `sarif` (report.sarif); with "
                               "md/json/sarif the summary goes to stderr. Example: `-f sarif > results.sarif`")
    ] = ReportFormat.text,
    fail_on: Annotated[Optional[Severity], typer.Option(
        "--fail-on", help="Exit 1 when a finding is at or above this severity (a CI gate); findings "
                          "the baseline accepts do not count. Example: `--fail-on high`",
        show_default=False)] = None,
    baseline: Annotated[Optional[Path], typer.Option(
        "--baseline", help="Accepted findings (written by --write-baseline): they stay in the report "
                           "as `baselined` and do not fail --fail-on, so only new findings do. Overrides "
                           "the config's `baseline`. Example: `--baseline nosql-advisor-baseline.json`",
        show_default=False, dir_okay=False)] = None,
    docs_url: Annotated[Optional[str], typer.Option(
        "--docs-url", help="Base URL where the rule pages (<id>.md) are published, for links in "
                           "report.md and helpUri in report.sarif; without it rule ids are not links "
                           "(the pages are embedded in report.sarif and report.html). Example: "
                           "`--docs-url https://github.com/ORG/nosql-advisor/blob/main/nosql_advisor/rules/pages`",
        show_default=False, callback=absolute_docs_url)] = None,
    db: Databases = None,
    collection: Collections = None,
    sample_size: SampleSize = None,
    seed: Seed = 0,
    max_paths: MaxPaths = DEFAULT_MAX_PATHS,
    concurrency: Concurrency = 4,
    workers: Workers = None,
    max_time_ms: MaxTime = DEFAULT_MAX_TIME_MS,
    schemas: Schemas = None,
    keep_going: KeepGoing = False,
    config: ConfigFile = None,
    write_baseline_to: Annotated[Optional[Path], typer.Option(
        "--write-baseline", help="Also write every finding of this scan to FILE as accepted; point "
                                 "`baseline` in the config at it so later scans report only new ones. "
                                 "Example: `--write-baseline nosql-advisor-baseline.json`",
        show_default=False, dir_okay=False)] = None,
    profile: Profiles = None,
    log: Logs = None,
    exact: Exact = False,
    yes: ExactYes = False,
    max_docs: MaxDocs = None,
    rate: Rate = None,
    stratify: StratifyBy = None,
    time_field: TimeField = None,
    quiet: Quiet = False,
) -> None:
    """Scan the sources and write the scale-risk report: `report.json` (shapes, scale risk per
    collection, findings, index advice), `report.md` (fits a PR comment), `report.html` (one
    self-contained page with charts), `report.sarif` (code scanning), `validators/` and
    `indexes/` (mongosh scripts). Exit 1 with `--fail-on` when findings reach it.

    Examples:

      nosql-advisor scan mongodb://replica.example:27017/?replicaSet=rs0 --db shop --out report/

      nosql-advisor scan dump/ --schemas schemas/ --out report/ --fail-on high --baseline base.json

      nosql-advisor scan mongodb://replica:27017 --db shop --exact --yes --max-docs 5000000 --rate 5000 --out report/
    """
    from nosql_advisor.advise import advise
    from nosql_advisor.baseline import write_baseline
    from nosql_advisor.config import load_config
    from nosql_advisor.report.gate import gate_exit_code
    from nosql_advisor.report.json_report import build_report
    from nosql_advisor.report.write import render, write_forms

    settings = load_config(config)
    if baseline is not None:
        settings = dataclasses.replace(settings, baseline=baseline)
    refuse_foreign_output(out)
    options = scan_options(db, collection, sample_size, seed, max_paths, concurrency, max_time_ms,
                           schemas, keep_going, workers=workers, settings=settings, exact=exact,
                           max_docs=max_docs, rate=rate, stratify=stratify, time_field=time_field)
    options[1].extend(stratify_notes(sources, stratify))
    confirm_exact(sources, options[0], yes, quiet)
    landscape = run_scan(sources, options, quiet)
    landscape.workload = run_workload(profile, log, options[0].selection, max_time_ms, quiet, landscape.problems,
                                      workers)
    advice = advise(landscape, config=settings)
    report = build_report(landscape, advice)
    keep_previous_unless_read(landscape, out)
    written = write_forms(out, report, advice.validators, docs_url) if out is not None else []
    if write_baseline_to is not None:
        write_baseline(write_baseline_to, advice.findings + advice.baselined)
    threshold = fail_on.value if fail_on is not None else None
    if format is not ReportFormat.text:
        sys.stdout.write(render(report, format.value, docs_url))
    if not quiet:
        print_summary(report, written, threshold, to_stderr=format is not ReportFormat.text)
    raise typer.Exit(gate_exit_code(report["findings"], threshold, exit_code(landscape)))


def refuse_foreign_output(out: Path | None) -> None:
    """Refuse a non-empty --out the tool did not write before the scan, not after it (exit 2)."""
    if out is not None:
        from nosql_advisor.report.output_folder import owned_entries

        owned_entries(out)


def keep_previous_unless_read(landscape: Landscape, out: Path | None) -> None:
    """End the run (its exit code, 2 or 3) before anything is written when every source failed:
    the previous output in `out` stays as it was, and one line says so (with no previous output,
    the source's own error line is the one line)."""
    from nosql_advisor.report.write import has_report

    if has_report(landscape):
        return
    if out is not None and out.exists():
        STDERR.print(f"error: {out}: not written, no source could be read; the previous output there "
                     "is unchanged", markup=False)
    raise typer.Exit(exit_code(landscape))


def print_summary(report: dict, written: list[Path], fail_on: str | None = None, to_stderr: bool = False) -> None:
    from nosql_advisor.render_text import scan_summary
    from nosql_advisor.report.gate import failing

    gate = len(failing(report["findings"], fail_on)) if fail_on is not None else None
    (STDERR if to_stderr else Console()).print(scan_summary(report, written, gate))


@app.command()
def diff(
    sources: Sources,
    schemas: Schemas = None,
    db: Databases = None,
    collection: Collections = None,
    sample_size: SampleSize = None,
    seed: Seed = 0,
    max_paths: MaxPaths = DEFAULT_MAX_PATHS,
    concurrency: Concurrency = 4,
    workers: Workers = None,
    max_time_ms: MaxTime = DEFAULT_MAX_TIME_MS,
    keep_going: KeepGoing = False,
    config: ConfigFile = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the findings as JSON. Example: "
                                              "`diff dump/ --json | jq '.[].rule'`")] = False,
    quiet: Quiet = False,
) -> None:
    """Hold the declared schemas (the `--schemas` folder, and the validators the server or the
    dump holds) against the data: documents that fail (DM503), undeclared fields (DM504), type
    drift (DM505), missing or weak validators (DM501, DM502), declared fields never seen.

    Example:

      nosql-advisor diff dump/ --schemas schemas/
    """
    from nosql_advisor.advise import advise, schema_drift
    from nosql_advisor.config import load_config
    from nosql_advisor.render_text import print_drift

    settings = load_config(config)
    options = scan_options(db, collection, sample_size, seed, max_paths, concurrency, max_time_ms,
                           schemas, keep_going, workers=workers, settings=settings)
    landscape = run_scan(sources, options, quiet)
    advice = advise(landscape, config=settings)
    drift = schema_drift(advice)
    if json_output:
        sys.stdout.write(json.dumps([f.to_dict() for f in drift], indent=2, default=str) + "\n")
    else:
        print_drift(landscape, advice, drift, Console())
    raise typer.Exit(exit_code(landscape))


@app.command()
def validators(
    sources: Sources,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for `<db>.<coll>.json` (the "
                                      "validator) and `<db>.<coll>.js` (mongosh collMod script). "
                                      "Example: `--out validators/`",
                                      file_okay=False, show_default=False)],
    required_threshold: Annotated[Optional[float], typer.Option(
        "--required-threshold", min=0.0, max=1.0, show_default=False,
        help="A field is `required` when the LOW end of the 95% interval of its presence (the "
             "share of its parent's occurrences holding it) reaches this. Default: held by every "
             "document read and a lower bound of at least 0.99, so every document read stays valid: "
             "a full read, or a $sample of 1,000 that held it in all (bound 99.6%), makes it "
             "required; a sample of 100 (bound 96.3%) does not, and the field's description says "
             "why. Below 1.0 a field some documents lack can be required. "
             "Example: `--required-threshold 0.95`")] = None,
    max_items: Annotated[bool, typer.Option(
        "--max-items", help="Add `maxItems` (the longest array seen) to arrays of at most 100 "
                            "elements. A sample cannot prove a bound: review it. Example: `--max-items`")] = False,
    apply: Annotated[bool, typer.Option(
        "--apply", help="Run collMod with each validator on the live server. Off by default: with "
                        "`demo load`, the only write this tool makes. It first prints the plan: per "
                        "collection ADD (no validator yet: validationLevel moderate, validationAction "
                        "warn), REPLACE (a stricter level/action the collection has is kept) or REFUSED "
                        "(the new validator would remove or loosen a constraint it has: each is listed "
                        "by path and keyword, and the collection is not changed). Before the first "
                        "change the current validators are saved to OUT/previous/ with mongosh restore "
                        "scripts. Exit 1 when a collection was refused. Example: `--apply --yes`")] = False,
    allow_loosen: Annotated[bool, typer.Option(
        "--allow-loosen", help="With --apply: also replace validators the plan lists as loosened, "
                               "and use the generated validationLevel/validationAction even where the "
                               "collection's are stricter. Run without it first to read the diff. "
                               "Example: `--apply --allow-loosen`")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="With --apply: do not ask (needed when "
                                      "stdin is not a terminal). Example: `--apply --yes` in a CI job")] = False,
    enum: Annotated[int, typer.Option(
        "--enum", min=0, help="Add `enum` to string fields with at most N distinct values in the "
                              "sample (0: never), when the set looks closed: the chance of an "
                              "unseen value (Good–Turing: the share of values read only once) is at "
                              "most 1%, or every document was read. The field's description says "
                              "the chance either way. The values are then written to the validator "
                              "files; never those of a field holding secrets or personal data "
                              "(DM701/DM702, a credential-like name, or any value a detector "
                              "recognises): its description says why. Example: `--enum 12`")] = 0,
    schemas: Schemas = None,
    db: Databases = None,
    collection: Collections = None,
    sample_size: SampleSize = None,
    seed: Seed = 0,
    max_paths: MaxPaths = DEFAULT_MAX_PATHS,
    concurrency: Concurrency = 4,
    workers: Workers = None,
    max_time_ms: MaxTime = DEFAULT_MAX_TIME_MS,
    quiet: Quiet = False,
) -> None:
    """Write a $jsonSchema validator per collection from what the sample holds: bsonType (a list
    when mixed), required fields (only where the 95% lower bound of their presence supports it),
    nested objects and array items, the declared schema's descriptions carried over. At the
    default --required-threshold every document read passes it (an explicit threshold below 1.0
    may require a field some of them lack).

    Examples:

      nosql-advisor validators dump/shop --out validators/

      nosql-advisor validators mongodb://localhost:27017 --db shop --out v/ --apply
    """
    from nosql_advisor.advise import advise
    from nosql_advisor.report.output_folder import write_folder
    from nosql_advisor.report.validators_out import write_validators
    from nosql_advisor.schema.generate import GenerateOptions

    refuse_foreign_output(out)
    options = scan_options(db, collection, sample_size, seed, max_paths, concurrency, max_time_ms, schemas,
                           enum_limit=enum, workers=workers)
    landscape = run_scan(sources, options, quiet)
    generate = GenerateOptions(required_threshold=required_threshold, max_items=max_items, enums=enum > 0)
    advice = advise(landscape, generate)
    keep_previous_unless_read(landscape, out)
    written = write_folder(out, lambda folder: write_validators(folder, advice.validators))
    if not quiet:
        STDERR.print(f"{len(written) // 2} validators written to {out}", markup=False)
    code = exit_code(landscape)
    if apply and code:
        STDERR.print("nothing applied: the scan did not complete cleanly (see the errors above)", markup=False)
    elif apply:
        code = apply_to_live(sources, advice.validators, out, max_time_ms, yes, allow_loosen)
    raise typer.Exit(code)


def confirm_write(question: str, yes: bool, what: str = "--apply changes the server") -> None:
    """The one gate before the tool writes to a server: `--yes`, or a person answering at a terminal."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"{what}: add --yes to confirm when stdin is not a terminal (nothing was changed)")
    if not typer.confirm(question):
        STDERR.print("nothing was changed", markup=False)
        raise typer.Exit(1)


def print_line(line: str) -> None:
    STDERR.print(line, markup=False, highlight=False)


def one_uri(specs: list[str], what: str) -> str:
    """The single live server an --apply writes to (`env:NAME` / `file:PATH` resolved)."""
    from nosql_advisor.redact import resolve_source
    from nosql_advisor.sources.live import is_uri

    uris = [uri for uri in map(resolve_source, specs) if is_uri(uri)]
    if len(uris) != 1:
        raise InputError(f"--apply needs exactly one mongodb:// {what}")
    return uris[0]


def apply_to_live(sources: list[str], validators_by_ns: dict[str, dict], out: Path, max_time_ms: int,
                  yes: bool, allow_loosen: bool) -> int:
    """Exit 1 when a collection was refused (its validator would be loosened, or it is gone)."""
    from nosql_advisor.apply import apply_validators

    uri = one_uri(sources, "source to apply the validators to")
    changes = apply_validators(uri, validators_by_ns, out, max_time_ms, allow_loosen,
                               lambda: confirm_write("apply these validators?", yes), print_line)
    return EXIT_FINDINGS if any(change.verb == "refuse" for change in changes) else EXIT_OK


@app.command()
def queries(
    profile: Profiles = None,
    log: Logs = None,
    db: Databases = None,
    collection: Collections = None,
    top: Annotated[int, typer.Option(min=1, help="Shapes shown, by total time. Example: `--top 50`")] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="Print the shapes and the recommended indexes as "
                                              "JSON. Example: `queries --log mongod.log --json | jq '.shapes[0]'`")] = False,
    script: Annotated[Optional[Path], typer.Option(
        "--script", help="Write the recommended indexes to FILE as a mongosh script (one createIndexes "
                         "per namespace). Example: `--script indexes.js`", show_default=False, dir_okay=False)] = None,
    apply: Annotated[bool, typer.Option(
        "--apply", help="Build the recommended indexes (createIndexes, one per index) on the server of "
                        "--profile. Off by default; prints the plan and asks, prints each result as it "
                        "completes, never drops an index. A failure part-way names the indexes already "
                        "built and the dropIndexes that undoes each. Example: `--apply --yes`")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="With --apply: do not ask (needed when stdin is not a "
                                      "terminal). Example: `--apply --yes` in a CI job")] = False,
    max_time_ms: MaxTime = DEFAULT_MAX_TIME_MS,
    workers: Workers = None,
    config: ConfigFile = None,
    quiet: Quiet = False,
) -> None:
    """Group the slow operations of the profiler or mongod logs into query shapes and print the top
    ones (count, total and p95 time, examined per returned, plan), with the indexes that would serve
    the shapes no index serves (DM401, ESR order).

    Examples:

      nosql-advisor queries --log /var/log/mongodb/mongod.log --top 30

      nosql-advisor queries --profile mongodb://localhost:27017 --db shop --script indexes.js
    """
    from nosql_advisor.config import load_config
    from nosql_advisor.rules.workload import configured_recommendations, indexes_by_namespace
    from nosql_advisor.scan import Landscape
    from nosql_advisor.workload.table import advice_table, shapes_table, workload_json
    from nosql_advisor.workload.indexes import create_indexes_script

    if not profile and not log:
        raise InputError("queries needs --profile or --log")
    settings = load_config(config)
    selection = Selection(tuple(db or ()), tuple(collection or ()))
    problems: list[Problem] = []
    landscape = Landscape(problems=problems)
    landscape.workload = run_workload(profile, log, selection, max_time_ms, quiet, problems, workers)
    recommendations = configured_recommendations(landscape, settings.rules)
    if json_output:
        sys.stdout.write(json.dumps({"shapes": workload_json(landscape.workload, top),
                                     "index_advice": [r.to_dict() for r in recommendations],
                                     "skipped": dict(landscape.workload.skipped.most_common()),
                                     "sources": landscape.workload.sources}, indent=2, default=str) + "\n")
    else:
        console = Console()
        console.print(shapes_table(landscape.workload, indexes_by_namespace(landscape), top))
        if recommendations:
            console.print(advice_table(recommendations))
    if script is not None:
        from nosql_advisor.report.output_folder import replace_file

        try:
            replace_file(script, create_indexes_script(recommendations))
        except OSError as error:
            raise InputError(f"{script}: cannot write the script ({error.strerror or error}); "
                             "the previous file there is unchanged") from None
    if apply:
        apply_indexes_live(profile or [], recommendations, max_time_ms, yes)
    raise typer.Exit(exit_code(landscape))


def apply_indexes_live(profiles: list[str], recommendations: list, max_time_ms: int, yes: bool) -> None:
    from nosql_advisor.apply import apply_indexes

    uri = one_uri(profiles, "--profile URI to build the indexes on")
    if not recommendations:
        print_line("nothing to apply: no index is recommended")
        return
    apply_indexes(uri, recommendations, max_time_ms, lambda: confirm_write("build these indexes?", yes), print_line)


@app.command()
def rules(
    rule_id: Annotated[Optional[str], typer.Argument(
        metavar="RULE", help="A rule id to show its page (what it detects, why it hurts, an example, "
                             "the fix). Example: `nosql-advisor rules DM101`")] = None,
) -> None:
    """List every rule (id, default severity, summary), or show one rule's page."""
    from nosql_advisor.render_text import rules_table
    from nosql_advisor.rules import RULES, all_rules

    catalogue = all_rules()
    console = Console()
    if rule_id is None:
        console.print(rules_table(catalogue))
        return
    rule = RULES.get(rule_id.upper())
    if rule is None:
        raise InputError(f"unknown rule {rule_id}; `nosql-advisor rules` lists them")
    page = rule.docs()
    if page:
        sys.stdout.write(page)
    else:
        console.print(f"{rule.id} ({rule.severity}, {rule.principle}): {rule.summary}", markup=False)


demo_app = typer.Typer(help="The demo database `shop`: multi-tenant e-commerce with planted "
                            "modelling problems (see docs/demo.md).", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


class DemoFormat(str, Enum):
    dump = "dump"
    export = "export"


Scale = Annotated[float, typer.Option(min=0.001, help="Size factor: 1.0 is about 28k documents. Example: `--scale 0.2`")]
DemoSeed = Annotated[int, typer.Option(help="Same seed and scale, same database, byte for byte. Example: `--seed 7`")]


@demo_app.command("write")
def demo_write(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write into: "
                                      "`OUT/shop/<collection>.bson` (+ .metadata.json) or `.json`. "
                                      "Example: `--out demo-dump`",
                                      show_default=False)],
    format: Annotated[DemoFormat, typer.Option("--format", "-f", help="`dump` (mongodump layout) "
                                               "or `export` (mongoexport NDJSON). Example: `-f export`")] = DemoFormat.dump,
    gzip: Annotated[bool, typer.Option("--gzip", help="Compress the files (.gz), as mongodump --gzip. Example: `--gzip`")] = False,
    seed: DemoSeed = 42,
    scale: Scale = 1.0,
) -> None:
    """Write the demo database as files, with manifest.json listing every planted problem.

    Example: nosql-advisor demo write --out demo-dump --scale 0.2 && nosql-advisor shape demo-dump
    """
    from nosql_advisor.demo import build_demo, write_dump, write_export

    demo = build_demo(seed=seed, scale=scale)
    writer = write_dump if format is DemoFormat.dump else write_export
    folder = writer(demo, out, gzip=gzip)
    STDERR.print(f"demo database written to {folder} (manifest: {out / 'manifest.json'}; "
                 f"its writes, for --log: {out / 'mongod.log'})", markup=False)


@demo_app.command("load")
def demo_load(
    uri: Annotated[str, typer.Argument(help="Server to load into, e.g. mongodb://127.0.0.1:27017. "
                                       "The `shop` database there is dropped first: when it holds any "
                                       "collection, demo load asks (or needs --yes).")],
    seed: DemoSeed = 42,
    scale: Scale = 1.0,
    yes: Annotated[bool, typer.Option("--yes", help="Drop a `shop` database that is not empty without "
                                      "asking (needed when stdin is not a terminal). Example: `--yes`")] = False,
) -> None:
    """Load the demo database into a live server (drops `shop` there first; asks before dropping
    one that holds collections).

    Example: nosql-advisor demo load mongodb://127.0.0.1:27017 --scale 0.5
    """
    from nosql_advisor.demo import build_demo, load_live
    from nosql_advisor.demo.model import DATABASE
    from nosql_advisor.demo.write import existing_collections
    from nosql_advisor.redact import resolve_source
    from nosql_advisor.sources.live import redact_uri

    uri = resolve_source(uri)
    existing = existing_collections(uri, DATABASE)
    if existing:
        listed = ", ".join(existing[:5]) + (f" and {len(existing) - 5} more" if len(existing) > 5 else "")
        confirm_write(f"drop the database {DATABASE} ({len(existing)} collections) on {redact_uri(uri)} and load the demo?",
                      yes, f"demo load: {redact_uri(uri)}: database {DATABASE} is not empty ({len(existing)} "
                           f"collections: {listed}) and would be dropped")
    demo = build_demo(seed=seed, scale=scale)
    load_live(demo, uri)
    print_line(f"demo database {demo.database} loaded into {redact_uri(uri)}")


@demo_app.command("run")
def demo_run(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the report (report.html, .md, .json, .sarif) and manifest.json. Example: `--out /tmp/demo`")
                   ] = Path("demo-report"),
    seed: DemoSeed = 42,
    scale: Scale = 1.0,
    sample_size: SampleSize = None,
    quiet: Quiet = False,
) -> None:
    """The quick start (what ./scripts/demo runs): start a local SecantusDB process, load the demo
    database, scan it over the wire, write the report, stop the server. Needs the [demo] extra.

    Example: nosql-advisor demo run --out demo-report --scale 0.2
    """
    from nosql_advisor.embedded import run_demo
    from nosql_advisor.report.write import FILES, FORMS

    with Reporter(enabled=None if not quiet else False) as reporter:
        landscape, advice = run_demo(out, seed, scale, sample_size, reporter)
    print_problems(landscape.problems, quiet)
    report = json.loads((out / FILES["json"]).read_text(encoding="utf-8"))
    print_summary(report, [out / FILES[form] for form in FORMS])
    raise typer.Exit(exit_code(landscape))


def version_callback(value: bool) -> None:
    if value:
        typer.echo(f"nosql-advisor {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (for bug reports). "
                                        "Can stand anywhere on the command line.")] = False,
) -> None:
    """nosql-advisor: what your MongoDB data really looks like, and where the model will hurt."""


def main() -> None:
    """Console entry point: errors become one line on stderr and an exit code, never a traceback
    (unless --debug)."""
    debug = "--debug" in sys.argv[1:]
    if debug:
        sys.argv.remove("--debug")
    interrupt.install()
    try:
        code = app(standalone_mode=False)
        if interrupt.received:  # Typer turns the KeyboardInterrupt into a return value of 130
            _interrupted()
    except AdvisorError as error:
        if debug:
            raise
        STDERR.print(f"error: {scrub_known(str(error))}", markup=False)
        sys.exit(error.exit_code)
    except typer.Exit as done:
        if interrupt.received:
            _interrupted()
        sys.exit(done.exit_code)
    except KeyboardInterrupt:
        _interrupted()
    except Exception as error:  # noqa: BLE001 - the promise is: no traceback without --debug
        if debug:
            raise
        _usage_or_internal(error)
    sys.exit(code if isinstance(code, int) else 0)


def _interrupted() -> None:
    """SIGINT / SIGTERM: one line, exit 130 / 143 (interrupt.py has stopped the rest)."""
    interrupt.say_once()
    interrupt.exit_now()


def _usage_or_internal(error: Exception) -> None:
    """Usage errors from the option parser show themselves (exit 2); anything else is a bug."""
    if hasattr(error, "show") and isinstance(getattr(error, "exit_code", None), int):
        if isinstance(getattr(error, "message", None), str):
            error.message = scrub_known(error.message)  # "unexpected extra argument (mongodb://...)"
        error.show()
        sys.exit(error.exit_code)
    if type(error).__name__ == "Abort":  # Ctrl-C or end of input at a prompt
        if interrupt.received:
            _interrupted()
        sys.exit(130)
    STDERR.print(f"error: internal error: {type(error).__name__}: {scrub_known(str(error))} "
                 "(run again with --debug for the traceback)", markup=False)
    sys.exit(2)
