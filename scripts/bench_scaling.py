"""`scripts/bench scaling`: cost that grows with the work, and no faster (issue 12).

Every case runs the CLI as a user runs it, in its own process started by a small launcher
(bench_memory.py: peak RSS is the kernel's, the largest of the CLI and the worker processes it
waited for), with the time on the wall clock. Inputs are generated once into bench-work/scaling/:

- inference: `shape FILE` over dumps of 10k, 100k, 1M and 5M orders documents. The documents are
  10,000 distinct orders of bench.py's generator (~1.1 KB each) cycled, each copy with its own
  ObjectId `_id` and `number`, so generating 5M costs an encode each, not the generator;
- logs: `queries --log FILE` over 4.4+ JSON logs of 100k, 1M and 5M lines: the first 100,000
  lines of bench_logs.py's generator (30 % slow operations) repeated;
- live: `shape URI -c NAME` (the default $sample of 1,000) of a 10k- and a 1M-document collection
  of small documents on one SecantusDB process (loaded with insert_many in batches of 10,000; the
  load stops at --load-minutes and the largest size reached is measured, with its load rate);
- exact: `shape URI -c NAME --exact --yes` over the 100k and 1M collections, next to client-side
  inference over the same (`-n` of at least the collection: every document read by the client);
- sample: `scan DUMP --sample-size 1000000` on the 200,000-document dump (a full read now), and
  with `--against DIR` the same with the package in DIR (before: the reservoir path).
"""

from __future__ import annotations

import datetime
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import order  # scripts/bench.py
from bench_memory import LAUNCHER  # scripts/bench_memory.py

ROOT = Path(__file__).resolve().parent.parent
DOC_SIZES = (10_000, 100_000, 1_000_000, 5_000_000)
LOG_SIZES = (100_000, 1_000_000, 5_000_000)
LIVE_SIZES = {"s10k": 10_000, "s100k": 100_000, "s1m": 1_000_000}
SAMPLE_CASE = 200_000  # documents of the `scan --sample-size 1000000` case
POOL = 10_000
LOAD_BATCH = 10_000
TARGET_RSS_MB = {"inference": 300, "logs": 200}
LIVE_DB = "benchscale"


# -- data -------------------------------------------------------------------------------------

def dump_path(work: Path, documents: int) -> Path:
    return work / "scaling" / f"dump-{documents}" / "bench" / "orders.bson"


def make_dumps(work: Path, sizes: list[int]) -> None:
    """Every dump of `sizes` in one pass (each a prefix of the largest); kept between runs."""
    import bson
    from bson import ObjectId

    wanted = sorted(n for n in sizes if not _done(dump_path(work, n), n))
    if not wanted:
        return
    print(f"generating dumps of {', '.join(f'{n:,}' for n in wanted)} orders in {work / 'scaling'} ...", file=sys.stderr)
    rng = random.Random(2026)
    pool = [order(rng, number) for number in range(POOL)]
    handles = []
    for n in wanted:
        dump_path(work, n).parent.mkdir(parents=True, exist_ok=True)
        handles.append((n, open(dump_path(work, n), "wb")))
    start = int(datetime.datetime(2024, 7, 1, tzinfo=datetime.timezone.utc).timestamp())
    for number in range(wanted[-1]):
        document = dict(pool[number % POOL], number=number)
        document["_id"] = ObjectId((start + number * 10).to_bytes(4, "big") + number.to_bytes(8, "big"))
        raw = bson.encode(document)
        for n, handle in handles:
            if number < n:
                handle.write(raw)
    for n, handle in handles:
        handle.close()
        _stamp(dump_path(work, n), n)


def log_path(work: Path, lines: int) -> Path:
    return work / "scaling" / f"log-{lines}" / "mongod.json.log"


def make_logs(work: Path, sizes: list[int]) -> None:
    from bench_logs import make_logs as bench_logs_make  # 100,000 lines of its generator

    wanted = [n for n in sizes if not _done(log_path(work, n), n)]
    if not wanted:
        return
    seed_log, _ = bench_logs_make(work / "scaling", 100_000)
    pool = seed_log.read_bytes().splitlines(keepends=True)
    for n in wanted:
        print(f"writing a {n:,}-line log ...", file=sys.stderr)
        log_path(work, n).parent.mkdir(parents=True, exist_ok=True)
        with open(log_path(work, n), "wb") as handle:
            for start in range(0, n, len(pool)):
                handle.writelines(pool[:min(len(pool), n - start)])
        _stamp(log_path(work, n), n)


def _done(path: Path, count: int) -> bool:
    stamp = path.with_name(path.name + ".count")
    return path.exists() and stamp.exists() and stamp.read_text() == str(count)


def _stamp(path: Path, count: int) -> None:
    path.with_name(path.name + ".count").write_text(str(count))


def small_document(number: int) -> dict:
    return {"_id": number, "tenant_id": f"t{number % 12:02d}", "status": ("new", "paid", "shipped")[number % 3],
            "total": number * 1.5, "qty": number % 9, "tags": ["a", "b"][: number % 3]}


def load_live(client, sizes: dict[str, int], deadline: float) -> dict:
    """Fill each collection to its size (what is there is kept); stop at `deadline`.
    Returns {name: documents} and the load rate measured."""
    database = client[LIVE_DB]
    loaded, inserted, seconds = {}, 0, 0.0
    for name, size in sizes.items():
        collection = database[name]
        have = collection.estimated_document_count()
        while have < size and time.time() < deadline:
            batch = [small_document(n) for n in range(have, min(size, have + LOAD_BATCH))]
            started = time.perf_counter()
            collection.insert_many(batch, ordered=False)
            seconds += time.perf_counter() - started
            inserted += len(batch)
            have += len(batch)
            if have % 100_000 == 0:
                print(f"  {name}: {have:,} documents ({inserted / seconds:,.0f}/s)", file=sys.stderr)
        loaded[name] = have
    return {"loaded": loaded, "rate": inserted / seconds if seconds else None, "inserted": inserted}


def run_case(arguments: list[str], package: Path | None, work: Path) -> dict:
    """The CLI in its own process, started by bench_memory's launcher: exit code, seconds, peak
    RSS (MB) of the largest process, the first stderr line. The whole stderr is kept in
    bench-work/scaling/stderr/ (the last run of each command), to read what a case said."""
    environment = dict(os.environ, **({"PYTHONPATH": str(package)} if package else {}))
    folder = work / "scaling" / "stderr"
    folder.mkdir(parents=True, exist_ok=True)
    name = "_".join(a.replace("/", "_").replace(":", "")[-40:] for a in arguments if not a.startswith("--out"))
    err_path = folder / f"{name[:150]}{'.before' if package else ''}.txt"
    measured = err_path.with_suffix(".measured")  # one per case: two benches may run at once
    started = time.perf_counter()
    with open(err_path, "wb") as err:
        subprocess.run([sys.executable, "-c", LAUNCHER, str(measured), sys.executable, "-m", "nosql_advisor",
                        *arguments], stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                       env=environment, cwd=folder)
    seconds = time.perf_counter() - started
    lines = err_path.read_text(errors="replace").strip().splitlines()
    code, peak_kb = measured.read_text().split()
    return {"exit": int(code), "seconds": seconds, "peak_mb": int(peak_kb) / 1024, "said": (lines[0] if lines else "")[:110]}


# -- cases ------------------------------------------------------------------------------------

def inference_rows(args, work: Path) -> list[dict]:
    make_dumps(work, args.docs)
    rows = []
    for n in args.docs:
        print(f"shape over {n:,} documents ...", file=sys.stderr)
        result = run_case(["shape", str(dump_path(work, n)), "--json"], None, work)
        rows.append(done(dict(result, case="inference", size=n, unit="docs")))
    return rows


def log_rows(args, work: Path) -> list[dict]:
    make_logs(work, args.lines)
    rows = []
    for n in args.lines:
        print(f"queries --log over {n:,} lines ...", file=sys.stderr)
        result = run_case(["queries", "--log", str(log_path(work, n))], None, work)
        rows.append(done(dict(result, case="logs", size=n, unit="lines")))
    return rows


def live_rows(args, work: Path) -> tuple[list[dict], dict]:
    import pymongo

    from nosql_advisor.demo.server import start_secantus

    server = start_secantus(storage=work / "scaling" / "secantus")
    try:
        client = pymongo.MongoClient(server.uri)
        load = load_live(client, LIVE_SIZES, time.time() + args.load_minutes * 60)
        load["server"] = {name: server_costs(client[LIVE_DB][name]) for name in ("s10k", "s1m")}
        timeout = ["--max-time-ms", str(args.max_time_ms)]
        rows = []
        if "live" in args.cases:
            for name in ("s10k", "s1m"):
                print(f"$sample of {name} ({load['loaded'][name]:,} documents) ...", file=sys.stderr)
                result = run_case(["shape", server.uri, "--db", LIVE_DB, "-c", name, "--json"] + timeout, None, work)
                rows.append(done(dict(result, case="live $sample 1000", size=load["loaded"][name], unit="docs")))
        if "exact" in args.cases:
            rows += exact_rows(server.uri, load["loaded"], work, timeout)
        client.close()
        return rows, load
    finally:
        server.stop()


def server_costs(collection) -> dict:
    """Seconds the server takes for what a live scan asks before and while sampling: the
    estimated count, $collStats, and a $sample of 1,000 drained (pymongo, no inference)."""
    def timed(call) -> float:
        started = time.perf_counter()
        call()
        return time.perf_counter() - started

    return {"count": timed(collection.estimated_document_count),
            "collStats": timed(lambda: list(collection.aggregate([{"$collStats": {"storageStats": {}}}]))),
            "$sample": timed(lambda: list(collection.aggregate([{"$sample": {"size": 1000}}])))}


def exact_rows(uri: str, loaded: dict, work: Path, timeout: list[str]) -> list[dict]:
    rows = []
    for name in ("s100k", "s1m"):
        size = loaded[name]
        base = ["shape", uri, "--db", LIVE_DB, "-c", name, "--json"] + timeout
        print(f"--exact and a client-side full read of {name} ({size:,} documents) ...", file=sys.stderr)
        exact = run_case(base + ["--exact", "--yes"], None, work)
        rows.append(done(dict(exact, case="live --exact (server)", size=size, unit="docs")))
        client_side = run_case(base + ["-n", str(size)], None, work)
        rows.append(done(dict(client_side, case="live full read (client)", size=size, unit="docs")))
    return rows


def sample_rows(args, work: Path) -> list[dict]:
    make_dumps(work, [SAMPLE_CASE])
    dump = str(dump_path(work, SAMPLE_CASE))
    rows = []
    with tempfile.TemporaryDirectory(dir=work) as out:
        for label, package in (("before", args.against), ("now", None)):
            if label == "before" and not package:
                continue
            arguments = ["scan", dump, "--sample-size", "1000000", "--out", str(Path(out) / label)]
            print(f"scan --sample-size 1000000 ({label}) ...", file=sys.stderr)
            result = run_case(arguments, Path(package).resolve() if package else None, work)
            rows.append(done(dict(result, case=f"scan -n 1000000 ({label})", size=SAMPLE_CASE, unit="docs")))
    return rows


def done(row: dict) -> dict:
    """A measured row, printed to stderr at once: a long run keeps what it finished."""
    print(f"  = {row['case']}, {row['size']:,} {row['unit']}: exit {row['exit']}, {row['seconds']:.1f} s, "
          f"{row['peak_mb']:.0f} MB {row['said']}", file=sys.stderr, flush=True)
    return row


# -- the table ---------------------------------------------------------------------------------

def print_table(rows: list[dict], load: dict | None) -> None:
    print(f"\nscaling, {datetime.date.today()}, {os.cpu_count()} cores (peak RSS of the largest process)\n")
    print(f"{'case':30} {'input':>14} {'exit':>4} {'seconds':>8} {'per 1k':>8} {'items/s':>9} {'peak MB':>8}  first line on stderr")
    for row in rows:
        per_1k = row["seconds"] / row["size"] * 1000
        print(f"{row['case']:30} {row['size']:>9,} {row['unit']:>4} {row['exit']:>4} {row['seconds']:>8.1f} "
              f"{per_1k:>8.3f} {row['size'] / row['seconds']:>9,.0f} {row['peak_mb']:>8.0f}  {row['said']}")
    if load is not None:
        rate = f"{load['rate']:,.0f} documents/s" if load["rate"] else "nothing inserted this run"
        print(f"\nSecantusDB load: {', '.join(f'{k} {v:,}' for k, v in load['loaded'].items())} documents "
              f"(insert_many of {LOAD_BATCH:,}: {rate}, {load['inserted']:,} inserted this run)")
        for name, costs in load.get("server", {}).items():
            print(f"SecantusDB {name} ({load['loaded'][name]:,} documents), pymongo alone: "
                  + ", ".join(f"{what} {seconds:.1f} s" for what, seconds in costs.items()))
    for case, limit in TARGET_RSS_MB.items():
        peaks = [row["peak_mb"] for row in rows if row["case"] == case]
        if peaks:
            print(f"target ({case}): largest process {max(peaks):.0f} MB (goal < {limit} MB: "
                  f"{'met' if max(peaks) < limit else 'NOT met'})")


def scaling_bench(args) -> None:
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    rows, load = [], None
    make_dumps(work, (args.docs if "inference" in args.cases else []) + ([SAMPLE_CASE] if "sample" in args.cases else []))
    if "inference" in args.cases:
        rows += inference_rows(args, work)
    if "logs" in args.cases:
        rows += log_rows(args, work)
    if "live" in args.cases or "exact" in args.cases:
        live, load = live_rows(args, work)
        rows += live
    if "sample" in args.cases:
        rows += sample_rows(args, work)
    print_table(rows, load)


def sizes(text: str) -> list[int]:
    """"10k,100k,1m" -> [10000, 100000, 1000000]."""
    scale = {"k": 1_000, "m": 1_000_000}
    return [int(float(part[:-1]) * scale[part[-1]]) if part[-1] in scale else int(part)
            for part in text.lower().replace("_", "").split(",") if part]


def add_parser(commands) -> None:
    scaling = commands.add_parser("scaling", help="time and peak RSS against input size: inference, logs, live "
                                                  "$sample, --exact, and a file sample as large as the file")
    scaling.add_argument("--cases", type=lambda text: text.split(","), default="inference,logs,live,exact,sample",
                         help="comma-separated: inference, logs, live, exact, sample (default: all)")
    scaling.add_argument("--docs", type=sizes, default=list(DOC_SIZES), help="dump sizes (default 10k,100k,1m,5m)")
    scaling.add_argument("--lines", type=sizes, default=list(LOG_SIZES), help="log sizes (default 100k,1m,5m)")
    scaling.add_argument("--load-minutes", type=float, default=10,
                         help="stop loading SecantusDB after this many minutes (default 10)")
    scaling.add_argument("--max-time-ms", type=int, default=600_000,
                         help="live cases: --max-time-ms of the CLI (default 600000: SecantusDB counts by a scan)")
    scaling.add_argument("--against", help="sample case: also run it with the package in this folder (before)")
    scaling.add_argument("--work", default=str(ROOT / "bench-work"), help="work folder (default bench-work/)")

