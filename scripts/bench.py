"""Benchmarks (figures to read, never asserted in tests). `scripts/bench shape --help`.

memory: peak RSS and wall time of `nosql-advisor shape`/`queries --log` on a 200 MB and a 600 MB
NDJSON line, a 200 MB log line, a million bad NDJSON lines and a million bad log lines
(scripts/bench_memory.py), beside what issue 10 measured before the readers were bounded.

shape: the native and the Python inference engines over synthetic orders documents (~1.05 KB in
BSON), as a BSON file and as NDJSON, next to bson.decode_file_iter alone, a bare C walk
(scripts/bench_floor.c) and the peer mongodb-schema (Compass's library, run with Node), in the
same run; validation's extra cost, a live case and instructions per document
(scripts/bench_shape.py). Each contender runs in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import datetime
import random
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_PACKAGES = ["mongodb-schema@12.7.0", "bson@6.10.4"]


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


# -- the mongodb-schema peer (scripts/bench_shape.py runs it) ----------------------------------------

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


def main() -> None:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    from bench_shape import add_parser as add_shape  # scripts/bench_shape.py

    add_shape(commands)
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
    from bench_shape import shape_bench

    shape_bench(args)


if __name__ == "__main__":
    main()
