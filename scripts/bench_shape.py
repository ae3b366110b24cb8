"""scripts/bench shape: the inference engines side by side on the same input, in one run (issue 13).

Input: the 200,000 orders documents of bench.py's generator as a mongodump BSON file (~210 MB) and
the same documents as canonical Extended JSON NDJSON, cached in bench-work/bench/; also the first
half of the BSON file (is peak RSS flat?), and 1,000/20,000-document heads for callgrind.

Contenders, each in its own process started by this small one (its peak RSS is its own):
- nosql-advisor shape (`scan_sources`, the CLI's library path) with the native engine on one core
  (--workers 1) and on two processes (--workers 2), and with the Python engine on one core
  (NOSQL_ADVISOR_ENGINE selects; the child reports which engine's builder finished the shape);
- the native builder alone (`new_builder(...).add_raw` over 1 MB batches of the file, no scan);
- mongodb-schema 12.7.0 (MongoDB Compass's library) under Node, on the same files;
- `bson.decode_file_iter` alone, and a bare C walk (scripts/bench_floor.c, compiled here with cc);
- with a declared schema for bench.orders: the extra cost of validation, shown separately;
- live: $sample of 1,000 documents from each of 50 collections on a SecantusDB the bench starts,
  total time, and the time inside the builders (inference) against the rest (server, driver);
- instructions per document under valgrind's callgrind (20,000 minus 1,000 documents, one core).
Figures are printed, never asserted; a target missed is printed as MISSED with its figures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import make_data, node_ready, order  # scripts/bench.py

ROOT = Path(__file__).resolve().parent.parent
ENGINE = "NOSQL_ADVISOR_ENGINE"
LIVE_DB, LIVE_SAMPLE = "benchlive", 1_000
CALLGRIND_DOCS = (1_000, 20_000)
TARGETS = {"peer": 25.0, "decode": 3.0, "workers": 1.8, "ndjson": 5.0, "rss_mb": 150.0, "flat": 0.10}

ORDERS_SCHEMA = {  # what the generator writes (bench.order), declared as a team would
    "$jsonSchema": {
        "bsonType": "object",
        "required": ["_id", "tenant_id", "number", "status", "created_at", "customer", "items", "total", "currency"],
        "properties": {
            "_id": {"bsonType": "objectId"},
            "tenant_id": {"bsonType": "string", "pattern": "^t_[0-9]{4}$"},
            "number": {"bsonType": ["int", "long"], "minimum": 0},
            "status": {"enum": ["new", "paid", "shipped", "cancelled"]},
            "created_at": {"bsonType": "date"},
            "updated_at": {"bsonType": "date"},
            "customer": {"bsonType": "object", "required": ["name", "email"], "properties": {
                "name": {"bsonType": "string", "maxLength": 200},
                "email": {"bsonType": "string", "pattern": "@"},
                "address": {"bsonType": "object", "properties": {
                    "street": {"bsonType": "string"}, "city": {"bsonType": "string"},
                    "zip": {"bsonType": "string", "minLength": 5, "maxLength": 5},
                    "country": {"bsonType": "string", "minLength": 2, "maxLength": 2}}}}},
            "items": {"bsonType": "array", "minItems": 1, "maxItems": 50, "items": {
                "bsonType": "object", "required": ["sku", "qty", "price"], "properties": {
                    "sku": {"bsonType": "string", "pattern": "^SKU-[0-9]{5}$"}, "name": {"bsonType": "string"},
                    "qty": {"bsonType": "int", "minimum": 1}, "price": {"bsonType": "decimal"},
                    "tags": {"bsonType": "array", "items": {"bsonType": "string"}}}}},
            "total": {"bsonType": "double", "minimum": 0},
            "currency": {"enum": ["EUR", "GBP", "USD"]},
            "payment": {"bsonType": "object", "properties": {
                "method": {"enum": ["card", "paypal", "transfer"]}, "paid_at": {"bsonType": "date"},
                "reference": {"bsonType": "string"}}},
            "notes": {"bsonType": "string", "maxLength": 1000},
        },
    }
}


# -- inputs -----------------------------------------------------------------------------------------

def head_of(bson_path: Path, documents: int, target: Path) -> Path:
    """The first `documents` records of a BSON file, copied byte for byte (cached)."""
    if target.exists() and target.stat().st_mtime >= bson_path.stat().st_mtime:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(bson_path, "rb") as source, open(target, "wb") as out:
        for _ in range(documents):
            size = source.read(4)
            if len(size) < 4:
                break
            out.write(size + source.read(int.from_bytes(size, "little") - 4))
    return target


def schema_folder(work: Path) -> Path:
    folder = work / "bench-schemas"
    (folder / "bench").mkdir(parents=True, exist_ok=True)
    (folder / "bench" / "orders.json").write_text(json.dumps(ORDERS_SCHEMA, indent=2) + "\n")
    return folder


def build_floor(work: Path) -> tuple[Path | None, str]:
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not compiler:
        return None, "not measured: no C compiler (cc) on PATH"
    binary = work / "bench_floor"
    source = ROOT / "scripts" / "bench_floor.c"
    if not binary.exists() or binary.stat().st_mtime < source.stat().st_mtime:
        done = subprocess.run([compiler, "-O2", "-o", str(binary), str(source)], capture_output=True, text=True)
        if done.returncode != 0:
            return None, f"not measured: {compiler} failed: {done.stderr.strip()[-200:]}"
    return binary, ""


def native_status() -> str:
    """'' when the native engine imports; else why not (the bench measures the rest)."""
    done = subprocess.run([sys.executable, "-c", "import nosql_advisor._shapecore as m; m.Walker\n"
                           "import nosql_advisor.shape.native"], capture_output=True, text=True, cwd=ROOT)
    return "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["import failed"])[-1]


# -- children (one process per contender) ----------------------------------------------------------

def _record_engines() -> list[str]:
    """Wrap `finish` of every builder class, before the scan is imported: which engine's builder
    finished each shape (the merged one, in this process, also when workers built the parts)."""
    from nosql_advisor.shape import infer

    classes = [infer.ShapeBuilder]
    try:
        from nosql_advisor.shape import native

        classes.append(native.NativeShapeBuilder)
    except ImportError:
        pass
    seen: list[str] = []
    for cls in classes:
        if "finish" in vars(cls):
            original = vars(cls)["finish"]

            def finish(self, *args, _original=original, **kwargs):
                if not seen or seen[-1] != getattr(self, "engine", "?"):
                    seen.append(getattr(self, "engine", type(self).__name__))
                return _original(self, *args, **kwargs)

            cls.finish = finish
    return seen


def _time_builders() -> dict[str, float]:
    """Wrap every builder method: the seconds spent inside each (outermost calls only)."""
    from nosql_advisor.shape import infer

    classes = [infer.ShapeBuilder]
    try:
        from nosql_advisor.shape import native

        classes.append(native.NativeShapeBuilder)
    except ImportError:
        pass
    spent, depth = {}, [0]
    for cls in classes:
        for name in ("add", "add_raw", "flush", "merge", "finish"):
            if name not in vars(cls):
                continue

            def timed(self, *args, _original=vars(cls)[name], _name=name, **kwargs):
                depth[0] += 1
                started = time.perf_counter()
                try:
                    return _original(self, *args, **kwargs)
                finally:
                    depth[0] -= 1
                    if depth[0] == 0:
                        spent[_name] = spent.get(_name, 0.0) + time.perf_counter() - started

            setattr(cls, name, timed)
    return spent


def child_scan(path: str, workers: str, schemas: str = "") -> dict:
    engines = _record_engines()
    from nosql_advisor.scan import ScanOptions, scan_sources
    from nosql_advisor.schema.load import load_declared

    declared = load_declared(Path(schemas), keep_going=False)[0] if schemas else {}
    start = time.perf_counter()
    landscape = scan_sources([path], ScanOptions(workers=int(workers), schemas=declared))
    seconds = time.perf_counter() - start
    collection = landscape.collections[0]
    result = {"docs": collection.shape.sampled, "seconds": seconds, "engines": engines}
    if collection.validation is not None:
        result["validated"] = collection.validation.checked
        result["failed"] = collection.validation.failed
    return result


def child_core(path: str) -> dict:
    """The engine's builder alone on raw batches of ~1 MB of whole records: no scan, no source."""
    from nosql_advisor.shape.engine import new_builder
    from nosql_advisor.rules import TENANT_KEYS

    start = time.perf_counter()
    builder = new_builder("bench.orders", count_values=frozenset(TENANT_KEYS))
    docs, bad = 0, 0
    with open(path, "rb") as handle:
        rest = b""
        while True:
            chunk = handle.read(1 << 20)
            data = rest + chunk
            starts, at = [], 0
            while len(data) - at >= 4:
                size = int.from_bytes(data[at:at + 4], "little")
                if size > len(data) - at:
                    break
                starts.append(at)
                at += size
            if starts:
                bad += len(builder.add_raw(data[:at], starts))
                docs += len(starts)
            rest = data[at:]
            if not chunk:
                break
    shape = builder.finish(docs)
    return {"docs": shape.sampled, "seconds": time.perf_counter() - start, "engines": [builder.engine], "bad": bad}


def child_decode(path: str) -> dict:
    import bson

    start = time.perf_counter()
    with open(path, "rb") as handle:
        docs = sum(1 for _ in bson.decode_file_iter(handle))
    return {"docs": docs, "seconds": time.perf_counter() - start}


def child_live(uri: str) -> dict:
    spent = _time_builders()
    engines = _record_engines()
    from nosql_advisor.scan import ScanOptions, scan_sources
    from nosql_advisor.sources.base import Selection

    start = time.perf_counter()
    landscape = scan_sources([uri], ScanOptions(selection=Selection(databases=(LIVE_DB,))))
    seconds = time.perf_counter() - start
    return {"docs": sum(c.shape.sampled for c in landscape.collections), "collections": len(landscape.collections),
            "seconds": seconds, "inference": sum(spent.values()), "methods": spent, "engines": engines,
            "problems": [f"{p.where}: {p.message}"[:120] for p in landscape.problems][:3]}


def child_driver(uri: str) -> dict:
    """The server and driver alone: the same $sample of each collection, raw batches drained."""
    import pymongo

    client = pymongo.MongoClient(uri)
    database = client[LIVE_DB]
    names = sorted(n for n in database.list_collection_names() if not n.startswith("system."))
    start, docs = time.perf_counter(), 0
    for name in names:
        for batch in database[name].aggregate_raw_batches([{"$sample": {"size": LIVE_SAMPLE}}]):
            docs += _count_raw(batch)
    seconds = time.perf_counter() - start
    client.close()
    return {"docs": docs, "seconds": seconds, "collections": len(names)}


def _count_raw(batch: bytes) -> int:
    at, count = 0, 0
    while at < len(batch):
        at += int.from_bytes(batch[at:at + 4], "little")
        count += 1
    return count


CHILDREN = {"scan": child_scan, "core": child_core, "decode": child_decode, "live": child_live,
            "driver": child_driver}


def child(name: str, *args: str) -> None:
    import resource

    import bson  # noqa: F401 - imports before the clock starts, as in a long-lived process
    import nosql_advisor.scan  # noqa: F401

    result = CHILDREN[name](*args)
    result["own_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["worker_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker
    print(json.dumps(result))


def measure(command: list[str], environment: dict | None = None, cwd: Path | None = None) -> dict:
    """Run one contender; its peak RSS and what it printed. A Python child reports the largest of
    itself and its workers; for the others (C, Node) the kernel's figure of the process is used."""
    env = dict(os.environ, **(environment or {}))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd, env=env, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0)
        err.seek(0)
        printed, said = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0 or not printed.strip():
        return {"error": (said.strip().splitlines() or ["failed"])[-1][:150]}
    result = json.loads(printed.strip().splitlines()[-1])
    if "own_mb" in result:
        result["peak_rss_mb"] = max(result.pop("own_mb"), result.pop("worker_mb"))
    else:
        result.setdefault("peak_rss_mb", usage.ru_maxrss / 1024)
    return result


# -- the run --------------------------------------------------------------------------------------

def contenders(work: Path, files: dict[str, Path], native_why: str, floor: Path | None, floor_why: str,
               node_folder: Path | None, node_why: str, store_values_off: bool) -> list[dict]:
    me = [sys.executable, str(Path(__file__).resolve()), "_child"]
    schemas = str(schema_folder(work))
    native = {ENGINE: "native"}
    python = {ENGINE: "python"}
    rows = [
        {"key": "native-1", "name": "nosql-advisor native --workers 1", "input": "bson",
         "command": me + ["scan", str(files["bson"]), "1"], "env": native, "needs_native": True},
        {"key": "native-2", "name": "nosql-advisor native --workers 2", "input": "bson",
         "command": me + ["scan", str(files["bson"]), "2"], "env": native, "needs_native": True},
        {"key": "python-1", "name": "nosql-advisor python --workers 1", "input": "bson",
         "command": me + ["scan", str(files["bson"]), "1"], "env": python},
        {"key": "core", "name": "native builder alone (add_raw, no scan)", "input": "bson",
         "command": me + ["core", str(files["bson"])], "env": native, "needs_native": True},
        {"key": "native-1-half", "name": "nosql-advisor native --workers 1, half", "input": "bson/2",
         "command": me + ["scan", str(files["half"]), "1"], "env": native, "needs_native": True},
        # validation (jsonschema over decoded documents) costs per document what inference costs per
        # hundred: measured on the 20,000-document head, with and without the declared schema
        {"key": "native-1-head", "name": "nosql-advisor native -w 1, head", "input": "head",
         "command": me + ["scan", str(files["head"]), "1"], "env": native, "needs_native": True},
        {"key": "native-1-head-schema", "name": "nosql-advisor native -w 1, head + schema", "input": "head",
         "command": me + ["scan", str(files["head"]), "1", schemas], "env": native, "needs_native": True},
        {"key": "python-1-head", "name": "nosql-advisor python -w 1, head", "input": "head",
         "command": me + ["scan", str(files["head"]), "1"], "env": python},
        {"key": "python-1-head-schema", "name": "nosql-advisor python -w 1, head + schema", "input": "head",
         "command": me + ["scan", str(files["head"]), "1", schemas], "env": python},
        {"key": "native-1-ndjson", "name": "nosql-advisor native --workers 1", "input": "ndjson",
         "command": me + ["scan", str(files["ndjson"]), "1"], "env": native, "needs_native": True},
        {"key": "native-2-ndjson", "name": "nosql-advisor native --workers 2", "input": "ndjson",
         "command": me + ["scan", str(files["ndjson"]), "2"], "env": native, "needs_native": True},
        {"key": "python-1-ndjson", "name": "nosql-advisor python --workers 1", "input": "ndjson",
         "command": me + ["scan", str(files["ndjson"]), "1"], "env": python},
        {"key": "decode", "name": "bson.decode_file_iter alone", "input": "bson",
         "command": me + ["decode", str(files["bson"])]},
        {"key": "floor", "name": "bare C walk (bench_floor.c)", "input": "bson",
         "command": [str(floor), str(files["bson"])] if floor else floor_why},
    ]
    for fmt in ("bson", "ndjson"):
        path = str(files[fmt].resolve())
        for store in ("true", "false") if store_values_off else ("true",):
            rows.append({"key": f"peer-{fmt}" + ("" if store == "true" else "-off"),
                         "name": "mongodb-schema 12.7.0 (Node)" + ("" if store == "true" else " storeValues off"),
                         "input": fmt, "cwd": node_folder,
                         "command": node_why or ["node", "bench_mongodb_schema.mjs", path, fmt, store]})
    for row in rows:
        if row.get("needs_native") and native_why:
            row["command"] = f"not measured: native engine not built ({native_why})"
        row["bytes"] = files[{"bson/2": "half"}.get(row["input"], row["input"])].stat().st_size
    return rows


def shape_bench(args) -> None:
    work = Path(args.work).resolve()
    bson_path, json_path = make_data(work, args.docs)
    files = {"bson": bson_path, "ndjson": json_path,
             "half": head_of(bson_path, args.docs // 2, work / "bench-half" / "orders.bson"),
             "head": head_of(bson_path, min(args.docs, CALLGRIND_DOCS[1]),
                             work / "bench-heads" / f"h{min(args.docs, CALLGRIND_DOCS[1])}" / "bench" / "orders.bson")}
    native_why = native_status()
    print(f"native engine: {'built' if not native_why else 'NOT built: ' + native_why}", file=sys.stderr)
    floor, floor_why = build_floor(work)
    node_folder, node_why = node_ready(work)
    node_why = f"not measured: {node_why}" if node_why else ""
    rows = contenders(work, files, native_why, floor, floor_why, node_folder, node_why, args.store_values_off)
    chosen = [row for row in rows if not args.only or row["key"] in args.only.split(",")]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()
    tries: dict[str, list[dict]] = {row["key"]: [] for row in chosen}
    for round_ in range(args.repeat):  # rounds: a slow spell of a shared machine hits every contender
        for row in chosen:
            if isinstance(row["command"], str):
                tries[row["key"]].append({"error": row["command"]})
                continue
            print(f"round {round_ + 1}: {row['name']} ({row['input']}) ...", file=sys.stderr)
            tries[row["key"]].append(measure(row["command"], row.get("env"), row.get("cwd")))
    for row in chosen:
        good = [t for t in tries[row["key"]] if "error" not in t]
        row["result"] = min(good, key=lambda t: t["seconds"]) if good else tries[row["key"]][0]
    wanted = lambda key: not args.only or key in args.only.split(",")  # noqa: E731
    live = live_bench(work, native_why, args.live_collections, args.live_docs) if not args.no_live and wanted("live") else None
    calls = callgrind(work, bson_path, native_why, args) if not args.no_callgrind and wanted("callgrind") else None
    print_report(chosen, live, calls, args, started, load_before, native_why)


def live_bench(work: Path, native_why: str, collections: int, documents: int) -> dict:
    """`collections` collections of `documents` orders on a SecantusDB of its own (kept in bench-work/, filled
    once); $sample of 1,000 from each, by the scan (each engine) and by pymongo alone."""
    import pymongo
    import random
    import bson

    from nosql_advisor.demo.server import start_secantus

    print("live: starting SecantusDB ...", file=sys.stderr)
    server = start_secantus(storage=work / "shape-live" / "secantus")
    try:
        client = pymongo.MongoClient(server.uri)
        database = client[LIVE_DB]
        rng = random.Random(13)
        load_started, inserted = time.perf_counter(), 0
        for name in database.list_collection_names():  # a run with other sizes left these
            if not re.fullmatch(r"orders_\d+", name) or int(name[7:]) >= collections:
                database.drop_collection(name)
        for index in range(collections):
            collection = database[f"orders_{index:02d}"]
            have = collection.estimated_document_count()
            if have > documents:
                collection.drop()
                have = 0
            if have < documents:
                collection.insert_many([bson.SON(order(rng, n)) for n in range(have, documents)], ordered=False)
                inserted += documents - have
                print(f"  loaded orders_{index:02d}", file=sys.stderr)
        client.close()
        result = {"loaded_seconds": time.perf_counter() - load_started, "inserted": inserted,
                  "collections": collections, "documents": documents}
        me = [sys.executable, str(Path(__file__).resolve()), "_child"]
        result["driver"] = measure(me + ["driver", server.uri])
        for engine in ("native", "python"):
            if engine == "native" and native_why:
                result[engine] = {"error": f"not measured: native engine not built ({native_why})"}
                continue
            print(f"live: scan with the {engine} engine ...", file=sys.stderr)
            result[engine] = measure(me + ["live", server.uri], {ENGINE: engine})
        return result
    finally:
        server.stop()


def callgrind(work: Path, bson_path: Path, native_why: str, args) -> dict:
    """Instructions per document: (I(20,000) - I(1,000)) / 19,000 under callgrind, which counts
    what the process executes (the same on a loaded machine); the difference cancels start-up."""
    valgrind = shutil.which("valgrind")
    if not valgrind:
        return {"error": "not measured: valgrind missing"}
    me = [sys.executable, str(Path(__file__).resolve()), "_child"]
    out = {}
    for engine in args.callgrind.split(","):
        if engine == "native" and native_why:
            out[engine] = {"error": f"not measured: native engine not built ({native_why})"}
            continue
        counts = []
        for documents in CALLGRIND_DOCS:
            path = head_of(bson_path, documents, work / "bench-heads" / f"h{documents}" / "bench" / "orders.bson")
            print(f"callgrind: {engine} engine, {documents:,} documents ...", file=sys.stderr)
            report = work / "bench-heads" / "callgrind.out"
            done = subprocess.run([valgrind, "--tool=callgrind", f"--callgrind-out-file={report}",
                                   *me, "scan", str(path), "1"], capture_output=True, text=True,
                                  env=dict(os.environ, **{ENGINE: engine}))
            found = re.search(r"Collected : (\d+)", done.stderr)
            printed = done.stdout.strip().splitlines()
            ran = json.loads(printed[-1]).get("engines") if done.returncode == 0 and printed else None
            if not found or not ran:
                counts = None
                out[engine] = {"error": (done.stderr.strip().splitlines() or ["callgrind failed"])[-1][:150]}
                break
            counts.append(int(found.group(1)))
        if counts:
            out[engine] = {"per_doc": (counts[1] - counts[0]) / (CALLGRIND_DOCS[1] - CALLGRIND_DOCS[0]),
                           "counts": counts, "ran": ran}
    return out


# -- the report -------------------------------------------------------------------------------------

def print_report(rows: list[dict], live: dict | None, calls: dict | None, args, started: str,
                 load_before: tuple, native_why: str) -> None:
    by = {row["key"]: row for row in rows}

    def rate(key: str) -> float | None:
        row = by.get(key)
        if row is None or "error" in row["result"]:
            return None
        return row["result"]["docs"] / row["result"]["seconds"]

    def native_ran(key: str) -> bool:
        row = by.get(key)
        return row is not None and "error" not in row["result"] and row["result"].get("engines") == ["native"]

    peer = {"bson": rate("peer-bson"), "ndjson": rate("peer-ndjson")}
    decode, floor = rate("decode"), rate("floor")
    load_after = os.getloadavg()
    print(f"\nshape inference, {args.docs:,} orders documents (~1.05 KB each in BSON), started {started}, "
          f"{os.cpu_count()} cores, load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print("each contender in its own process; peak MB is the largest single process (with --workers 2, the larger "
          "worker or the main one); 'ran' is the engine whose builder finished the shape\n")
    print(f"{'contender':42} {'input':7} {'docs':>8} {'seconds':>8} {'docs/s':>10} {'MB/s':>7} {'peak MB':>8} "
          f"{'ran':>7} {'vs peer':>8} {'vs decode':>9} {'vs floor':>8}")
    for row in rows:
        result = row["result"]
        if "error" in result:
            print(f"{row['name']:42} {row['input']:7} {result['error']}")
            continue
        speed = result["docs"] / result["seconds"]
        fmt = "ndjson" if row["input"] == "ndjson" else "bson"
        ran = ",".join(result.get("engines", [])) or ("-" if "engines" not in result else "?")
        versus = lambda base: f"{speed / base:.2f}x" if base else ""  # noqa: E731
        print(f"{row['name']:42} {row['input']:7} {result['docs']:>8,} {result['seconds']:>8.2f} {speed:>10,.0f} "
              f"{row['bytes'] / 1e6 / result['seconds']:>7,.0f} {result.get('peak_rss_mb', 0):>8.0f} {ran:>7} "
              f"{versus(peer[fmt]):>8} {versus(decode) if fmt == 'bson' else '':>9} "
              f"{versus(floor) if fmt == 'bson' else '':>8}")
    print()

    def target(label: str, key: str, base: float | None, base_label: str, goal: float) -> None:
        speed = rate(key)
        if speed is None or base is None:
            missing = [what for what, value in ((key, speed), (base_label, base)) if value is None]
            print(f"{label}: not measured ({', '.join(missing)} did not run)")
            return
        if not native_ran(key):
            print(f"{label}: not measured (the scan ran the {by[key]['result'].get('engines')} engine, not native)")
            return
        ratio = speed / base
        verdict = "met" if ratio >= goal else "MISSED"
        print(f"{label}: {speed:,.0f} / {base:,.0f} docs/s = {ratio:.2f}x (target >= {goal:g}x): {verdict}")

    target("one core vs mongodb-schema (bson)", "native-1", peer["bson"], "mongodb-schema bson", TARGETS["peer"])
    target("one core vs bson.decode_file_iter", "native-1", decode, "decode", TARGETS["decode"])
    speed = rate("native-1")
    if speed and floor:
        print(f"one core vs the bare C walk: {speed:,.0f} / {floor:,.0f} docs/s = {speed / floor:.3f}x "
              f"(the walk is {floor / speed:.1f}x faster; no target)")
    target("two processes / one (bson)", "native-2", rate("native-1"), "native --workers 1", TARGETS["workers"])
    target("NDJSON one core vs mongodb-schema", "native-1-ndjson", peer["ndjson"], "mongodb-schema ndjson",
           TARGETS["ndjson"])
    if rate("python-1") and speed:
        print(f"native / python engine, one core (bson): {speed / rate('python-1'):.1f}x")
    for key in ("native-1", "native-2", "native-1-ndjson", "native-2-ndjson"):
        result = by.get(key, {}).get("result", {})
        if "peak_rss_mb" in result:
            mb = result["peak_rss_mb"]
            print(f"peak RSS per process, {by[key]['name']} ({by[key]['input']}): {mb:.0f} MB "
                  f"(target < {TARGETS['rss_mb']:g} MB): {'met' if mb < TARGETS['rss_mb'] else 'MISSED'}")
    full, half = by.get("native-1", {}).get("result", {}), by.get("native-1-half", {}).get("result", {})
    if "peak_rss_mb" in full and "peak_rss_mb" in half:
        grew = full["peak_rss_mb"] / half["peak_rss_mb"] - 1
        print(f"peak RSS flat in input size: {half['peak_rss_mb']:.0f} MB at {half['docs']:,} documents, "
              f"{full['peak_rss_mb']:.0f} MB at {full['docs']:,} ({grew:+.0%}; target within "
              f"{TARGETS['flat']:.0%}): {'met' if abs(grew) <= TARGETS['flat'] else 'MISSED'}")
    else:
        print("peak RSS flat in input size: not measured")
    for engine in ("native", "python"):
        plain = by.get(f"{engine}-1-head", {}).get("result", {})
        checked = by.get(f"{engine}-1-head-schema", {}).get("result", {})
        if "seconds" in checked and not checked.get("validated"):
            print(f"validation against the declared schema ({engine} engine): not measured (no document was "
                  f"validated: the schema of bench.orders was not applied)")
        elif "seconds" in plain and "seconds" in checked:
            extra = checked["seconds"] - plain["seconds"]
            print(f"validation against the declared schema ({engine} engine, one core, {checked['docs']:,} documents): "
                  f"+{extra:.2f} s over "
                  f"{plain['seconds']:.2f} s ({extra / plain['seconds']:+.0%}, {extra / checked['docs'] * 1e6:.1f} us "
                  f"per document; {checked.get('validated', 0):,} checked, {checked.get('failed', 0):,} failed)")
        else:
            print(f"validation against the declared schema ({engine} engine): not measured")
    print_live(live)
    print_calls(calls)
    if native_why:
        print(f"\nthe native engine is not built ({native_why}): its rows and targets were not measured")


def print_live(live: dict | None) -> None:
    if live is None:
        print("live: not run (--no-live, or --only without live)")
        return
    driver = live["driver"]
    print(f"\nlive: $sample of {LIVE_SAMPLE:,} from each of {live['collections']} collections of {live['documents']:,} orders on "
          f"a local SecantusDB (loaded {live['inserted']:,} documents in {live['loaded_seconds']:.0f} s this run)")
    if "error" in driver:
        print(f"  server + driver alone (pymongo): {driver['error']}")
    else:
        print(f"  server + driver alone (pymongo aggregate_raw_batches, one collection after another): "
              f"{driver['seconds']:.2f} s for {driver['docs']:,} documents of {driver['collections']} collections")
    for engine in ("native", "python"):
        result = live[engine]
        if "error" in result:
            print(f"  scan, {engine} engine: {result['error']}")
            continue
        rest = result["seconds"] - result["inference"]
        verdict = "met" if rest > result["inference"] else "MISSED"
        print(f"  scan, {engine} engine (ran: {','.join(result['engines'])}): {result['seconds']:.2f} s in all for "
              f"{result['docs']:,} documents of {result['collections']} collections; inference (builder calls) "
              f"{result['inference']:.2f} s ({', '.join(f'{k} {v:.2f} s' for k, v in sorted(result['methods'].items()))}), "
              f"server/driver/scan {rest:.2f} s; dominated by the server, not by "
              f"inference: {verdict}; peak {result['peak_rss_mb']:.0f} MB"
              + (f"; problems: {result['problems']}" if result["problems"] else ""))


def print_calls(calls: dict | None) -> None:
    if calls is None:
        print("instructions per document: not run (--no-callgrind, or --only without callgrind)")
        return
    if "error" in calls:
        print(f"instructions per document: {calls['error']}")
        return
    for engine, result in calls.items():
        if "error" in result:
            print(f"instructions per document ({engine} engine): {result['error']}")
            continue
        first, second = result["counts"]
        print(f"instructions per document ({engine} engine asked, {','.join(result['ran'])} ran; one core, "
              f"callgrind): {result['per_doc']:,.0f} "
              f"(({second:,} - {first:,}) / {CALLGRIND_DOCS[1] - CALLGRIND_DOCS[0]:,}: "
              f"{CALLGRIND_DOCS[1]:,} minus {CALLGRIND_DOCS[0]:,} documents)")


def add_parser(commands) -> None:
    shape = commands.add_parser("shape", help="the inference engines side by side: native, python, mongodb-schema, "
                                              "bson decoding, a bare C walk; validation, live, instructions")
    shape.add_argument("--docs", type=int, default=200_000, help="documents to generate (default 200000)")
    shape.add_argument("--work", default=str(ROOT / "bench-work"), help="work folder (default bench-work/)")
    shape.add_argument("--only", help="run only these (comma-separated keys): native-1, native-2, python-1, core, "
                                      "native-1-half, native-1-head, native-1-head-schema, python-1-head, "
                                      "python-1-head-schema, native-1-ndjson, native-2-ndjson, python-1-ndjson, "
                                      "decode, floor, peer-bson, peer-ndjson (peer-bson-off, peer-ndjson-off with "
                                      "--store-values-off), live, callgrind")
    shape.add_argument("--repeat", type=int, default=1, help="rounds over the contenders; the best of each is kept")
    shape.add_argument("--store-values-off", action="store_true", help="also mongodb-schema with storeValues off")
    shape.add_argument("--no-live", action="store_true", help="skip the live SecantusDB case")
    shape.add_argument("--live-collections", type=int, default=50, help="live: collections (default 50)")
    shape.add_argument("--live-docs", type=int, default=1_200, help="live: orders per collection (default 1200)")
    shape.add_argument("--no-callgrind", action="store_true", help="skip instructions per document")
    shape.add_argument("--callgrind", default="native", help="engines counted under callgrind (default native; "
                                                             "native,python for both)")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "_child":
        child(sys.argv[2], *sys.argv[3:])
