"""Benchmarks (figures to read, never asserted in tests). `scripts/bench shape --help`.

memory: peak RSS and wall time of `nosql-advisor shape`/`queries --log` on a 200 MB and a 600 MB
NDJSON line, a 200 MB log line, a million bad NDJSON lines and a million bad log lines
(scripts/bench_memory.py), beside what issue 10 measured before the readers were bounded.

shape: inference over synthetic orders documents (~1.1 KB in BSON), as a BSON file and as NDJSON,
next to the floor (bson.decode_file_iter alone) and the peer mongodb-schema (Compass's library,
run with Node) in the same run. Each contender runs in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_PACKAGES = ["mongodb-schema@12.7.0", "bson@6.10.4"]
TARGET_RATIO = 2.0  # nosql-advisor docs/s >= 2x mongodb-schema's
TARGET_RSS_MB = 300


# -- data ---------------------------------------------------------------------------------------

def order(rng: random.Random, number: int) -> dict:
    from bson import Decimal128, ObjectId

    created = datetime.datetime(2024, 7, 1) + datetime.timedelta(seconds=rng.randint(0, 730 * 86400))
    oid = ObjectId(int(created.replace(tzinfo=datetime.timezone.utc).timestamp()).to_bytes(4, "big") + rng.randbytes(8))
    items = [{"sku": f"SKU-{rng.randint(1, 9999):05d}", "name": rng.choice(["Desk lamp", "Office chair", "Coffee mug", "Bookshelf"]),
              "qty": rng.randint(1, 5), "price": Decimal128(f"{rng.randint(100, 99999) / 100:.2f}"),
              "tags": rng.sample(["home", "office", "sale", "new", "eco"], rng.randint(0, 3))}
             for _ in range(rng.randint(1, 8))]
    return {
        "_id": oid, "tenant_id": f"t_{rng.randint(1, 12):04d}", "number": number,
        "status": rng.choice(["new", "paid", "shipped", "cancelled"]),
        "created_at": created, "updated_at": created + datetime.timedelta(hours=rng.randint(0, 500)),
        "customer": {"name": f"Customer {rng.randint(1, 50000)}", "email": f"c{rng.randint(1, 50000)}@example.com",
                     "address": {"street": f"{rng.randint(1, 999)} Main Street", "city": rng.choice(["Lyon", "Leeds", "Graz"]),
                                 "zip": f"{rng.randint(10000, 99999)}", "country": rng.choice(["FR", "GB", "AT"])}},
        "items": items, "total": round(rng.random() * 1000, 2), "currency": "EUR",
        "payment": {"method": rng.choice(["card", "paypal", "transfer"]), "paid_at": created, "reference": rng.randbytes(8).hex()},
        "notes": "x" * rng.randint(0, 300),
    }


def make_data(work: Path, docs: int) -> tuple[Path, Path]:
    import bson
    from bson import json_util

    folder = work / "bench"
    stamp, bson_path, json_path = folder / "docs.txt", folder / "orders.bson", folder / "orders.json"
    if stamp.exists() and stamp.read_text() == str(docs) and bson_path.exists() and json_path.exists():
        return bson_path, json_path
    folder.mkdir(parents=True, exist_ok=True)
    print(f"generating {docs:,} orders documents in {folder} ...", file=sys.stderr)
    rng = random.Random(2026)
    with open(bson_path, "wb") as raw, open(json_path, "w") as text:
        for number in range(docs):
            document = order(rng, number)
            raw.write(bson.encode(document))
            text.write(json_util.dumps(document, json_options=json_util.CANONICAL_JSON_OPTIONS) + "\n")
    stamp.write_text(str(docs))
    return bson_path, json_path


# -- contenders (each run in a child process) -----------------------------------------------------

def run_floor(path: Path) -> int:
    import bson

    with open(path, "rb") as handle:
        return sum(1 for _ in bson.decode_file_iter(handle))


def run_ours(path: Path, workers: int) -> int:
    from nosql_advisor.scan import ScanOptions, scan_sources

    landscape = scan_sources([str(path)], ScanOptions(workers=workers))
    return landscape.collections[0].shape.sampled


def run_ours_default(path: Path) -> int:
    from nosql_advisor.parallel import default_workers

    return run_ours(path, default_workers())  # what the CLI does


CHILD = {"floor": run_floor, "ours": run_ours_default, "ours-1": lambda path: run_ours(path, 1)}


def child(name: str, path: str) -> None:
    import bson  # noqa: F401 - imports happen before the clock starts, as in a long-lived process
    import nosql_advisor.scan  # noqa: F401

    import resource

    start = time.perf_counter()
    docs = CHILD[name](Path(path))
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest worker
    from nosql_advisor.parallel import default_workers

    count = default_workers() if name == "ours" else 0
    # all processes at their peaks at once: an upper bound of the memory the run needs
    print(json.dumps({"docs": docs, "seconds": seconds, "rss_all_mb": (own + count * workers) / 1024}))


def measure(command: list[str], cwd: Path | None = None) -> dict:
    """Run one contender; its peak RSS comes from the kernel's accounting of that child."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    _, status, usage = os.wait4(process.pid, 0)
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    if status != 0:
        return {"error": (err.strip().splitlines() or ["failed"])[-1]}
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_mb"] = max(usage.ru_maxrss / 1024, result.pop("rss_all_mb", 0))
    return result


def node_ready(work: Path) -> tuple[Path | None, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return None, "node/npm not on PATH"
    folder = work / "node"
    if not (folder / "node_modules" / "mongodb-schema").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"name": "bench-peers", "private": true, "type": "module"}\n')
        print(f"installing {' '.join(NODE_PACKAGES)} into {folder} ...", file=sys.stderr)
        done = subprocess.run([npm, "install", "--silent", "--no-audit", "--no-fund", *NODE_PACKAGES],
                              cwd=folder, capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"npm install failed: {done.stderr.strip()[-200:]}"
    shutil.copy(ROOT / "scripts" / "bench_mongodb_schema.mjs", folder / "bench_mongodb_schema.mjs")
    return folder, ""


def contenders(work: Path, bson_path: Path, json_path: Path) -> list[tuple[str, str, list[str] | str, Path | None]]:
    me = [sys.executable, str(Path(__file__).resolve()), "_child"]
    rows = [
        ("floor: bson.decode_file_iter", "bson", me + ["floor", str(bson_path)], None),
        ("nosql-advisor", "bson", me + ["ours", str(bson_path)], None),
        ("nosql-advisor", "ndjson", me + ["ours", str(json_path)], None),
        ("nosql-advisor --workers 1", "bson", me + ["ours-1", str(bson_path)], None),
        ("nosql-advisor --workers 1", "ndjson", me + ["ours-1", str(json_path)], None),
    ]
    folder, why = node_ready(work)
    for store in ("true", "false"):
        label = "mongodb-schema 12.7.0" + ("" if store == "true" else " (storeValues off)")
        for fmt, path in (("ndjson", json_path), ("bson", bson_path)):
            command = why or ["node", "bench_mongodb_schema.mjs", str(path.resolve()), fmt, store]
            rows.append((label, fmt, command, folder))
    rows.append(("pymongo-schema", "-", "skipped: it extracts through a live MongoClient, not from files", None))
    return rows


def shape_bench(args: argparse.Namespace) -> None:
    work = Path(args.work).resolve()
    bson_path, json_path = make_data(work, args.docs)
    chosen = [row for row in contenders(work, bson_path, json_path)
              if not args.only or args.only.lower() in row[0].lower()]
    runs: list[list[dict]] = [[] for _ in chosen]
    for _ in range(args.repeat):  # rounds, so a slow spell of a shared machine hits every contender
        for index, (_, _, command, cwd) in enumerate(chosen):
            runs[index].append({"error": command} if isinstance(command, str) else measure(command, cwd))
    results = []
    for (name, fmt, _, _), tries in zip(chosen, runs):
        good = [r for r in tries if "error" not in r]
        results.append((name, fmt, min(good, key=lambda r: r["seconds"]) if good else tries[0]))
    print_table(results, args.docs)


def print_table(results, docs: int) -> None:
    rate = {(n, f): r["docs"] / r["seconds"] for n, f, r in results if "error" not in r}
    peer = {f: v for (n, f), v in rate.items() if n == "mongodb-schema 12.7.0"}
    floor = rate.get(("floor: bson.decode_file_iter", "bson"))
    print(f"\nshape inference, {docs:,} orders documents, {datetime.date.today()}, {os.cpu_count()} cores")
    print("nosql-advisor uses one process per core (up to 4) on large files, as the CLI does; peak MB is then")
    print("the sum over its processes; '--workers 1' is the same code on one core; mongodb-schema is single-threaded\n")
    print(f"{'contender':40} {'input':7} {'docs':>9} {'seconds':>8} {'docs/s':>9} {'peak MB':>8} {'vs peer':>8} {'vs floor':>8}")
    for name, fmt, result in results:
        if "error" in result:
            print(f"{name:40} {fmt:7} {result['error']}")
            continue
        speed = result["docs"] / result["seconds"]
        versus_peer = f"{speed / peer[fmt]:.2f}x" if fmt in peer else ""
        versus_floor = f"{speed / floor:.2f}x" if floor else ""
        print(f"{name:40} {fmt:7} {result['docs']:>9,} {result['seconds']:>8.2f} {speed:>9,.0f} "
              f"{result['peak_rss_mb']:>8.0f} {versus_peer:>8} {versus_floor:>8}")
    print()
    for fmt in ("bson", "ndjson"):
        ours = next((r for n, f, r in results if n == "nosql-advisor" and f == fmt and "error" not in r), None)
        if ours is None or fmt not in peer:
            print(f"target ({fmt}): not measured")
            continue
        ratio = ours["docs"] / ours["seconds"] / peer[fmt]
        speed_ok, memory_ok = ratio >= TARGET_RATIO, ours["peak_rss_mb"] < TARGET_RSS_MB
        print(f"target ({fmt}): {ratio:.2f}x mongodb-schema (goal >= {TARGET_RATIO}x: {'met' if speed_ok else 'NOT met'}), "
              f"peak RSS {ours['peak_rss_mb']:.0f} MB (goal < {TARGET_RSS_MB} MB: {'met' if memory_ok else 'NOT met'})")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    shape = commands.add_parser("shape", help="inference speed and memory vs the floor and mongodb-schema")
    shape.add_argument("--docs", type=int, default=200_000, help="documents to generate (default 200000)")
    shape.add_argument("--work", default=str(ROOT / "bench-work"), help="work folder (default bench-work/)")
    shape.add_argument("--only", help="run only contenders whose name contains this")
    shape.add_argument("--repeat", type=int, default=1, help="runs per contender; the best is kept")
    logs = commands.add_parser("logs", help="slow-query log reading vs a bare json.loads loop and mloginfo (mtools)")
    logs.add_argument("--lines", type=int, default=1_000_000, help="log lines to generate (default 1000000)")
    logs.add_argument("--work", default=str(ROOT / "bench-work"), help="work folder (default bench-work/)")
    logs.add_argument("--only", help="run only contenders whose name contains this")
    memory = commands.add_parser("memory", help="peak RSS and time of shape/queries on a 200 MB and a 600 MB NDJSON "
                                                "line, a 200 MB log line, a million bad NDJSON lines and a million "
                                                "bad log lines, beside the figures issue 10 measured before")
    memory.add_argument("--work", default=None, help="where the temporary folder goes (default: the system's)")
    memory.add_argument("--only", help="run only cases whose name contains this (ndjson, log, 600mb, bad...)")
    memory.add_argument("--against", help="also run each case with the package in this folder (another checkout)")
    from bench_scaling import add_parser as add_scaling  # scripts/bench_scaling.py

    add_scaling(commands)
    args = parser.parse_args()
    if args.command == "scaling":
        from bench_scaling import scaling_bench

        scaling_bench(args)
        return
    if args.command == "logs":
        from bench_logs import logs_bench  # scripts/bench_logs.py

        logs_bench(args)
        return
    if args.command == "memory":
        from bench_memory import memory_bench  # scripts/bench_memory.py

        memory_bench(args)
        return
    shape_bench(args)


if __name__ == "__main__":
    main()
