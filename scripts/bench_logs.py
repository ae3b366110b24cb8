"""`scripts/bench logs`: slow-query log reading, lines per second and peak RSS.

One generated log of N lines (default 1,000,000; 30 % slow operations, the rest connection and
replication chatter), written twice with the same events: as the structured JSON log of 4.4+ and
in the text format of 4.0. Contenders, each in its own process (its peak RSS is its own):

- nosql-advisor: `read_workload` (the library path of `queries --log`/`scan --log`) on each file,
  with one process per core (at most 4) over byte ranges of the file as the CLI does (peak MB is
  then the largest process), and `--workers 1`, the same code in one process;
- floor: a bare `json.loads` loop over the JSON file grouping slow operations by namespace and
  plan summary (what any reader has to pay at least);
- mloginfo --queries (mtools, installed into bench-work/mtools-venv with pip), on the text file
  under `script -qefc` because it needs a terminal on stdin; on the JSON file it refuses 4.4+
  logs (mtools issue #806), which is shown as its answer, not as a figure.
"""

from __future__ import annotations

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
TARGET_TEXT_RATIO = 10.0  # lines/s vs mloginfo on the text log
TARGET_JSON_RATE = 100_000  # lines/s on the JSON log
TARGET_RSS_MB = 200

NAMESPACES = ["shop.orders", "shop.customers", "shop.products", "shop.carts", "shop.reviews"]
START = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)


def _event(rng: random.Random) -> dict:
    """One slow operation: a find (with or without sort), a count, an aggregate or an update."""
    namespace = rng.choice(NAMESPACES)
    collection = namespace.split(".")[1]
    tenant = f"t_{rng.randint(1, 40):04d}"
    kind = rng.random()
    plan_index = rng.random() < 0.6
    if kind < 0.5:
        filter_ = {"tenant_id": tenant}
        if rng.random() < 0.5:
            filter_["status"] = rng.choice(["new", "paid", "shipped"])
        if rng.random() < 0.3:
            filter_["total"] = {"$gt": rng.randint(1, 500)}
        command = {"find": collection, "filter": filter_}
        if rng.random() < 0.4:
            command["sort"] = {"created_at": -1}
        command["limit"] = 20
    elif kind < 0.65:
        command = {"count": collection, "query": {"tenant_id": tenant, "status": "paid"}}
    elif kind < 0.8:
        command = {"aggregate": collection, "pipeline": [{"$match": {"tenant_id": tenant}},
                                                          {"$group": {"_id": "$status", "n": {"$sum": 1}}}],
                   "cursor": {}}
    else:
        return {"type": "update", "ns": namespace, "q": {"_id": rng.randint(1, 10**6)} if rng.random() < 0.5
                else {"tenant_id": tenant, "sku": f"SKU-{rng.randint(1, 9999):05d}"},
                "ms": rng.randint(100, 3000), "examined": rng.randint(1, 5000)}
    examined = rng.randint(0, 50_000)
    return {"type": "command", "ns": namespace, "command": command, "ms": rng.randint(100, 5000),
            "plan": "IXSCAN { tenant_id: 1 }" if plan_index else "COLLSCAN", "examined": examined,
            "returned": rng.randint(0, 20)}


def _shell(value) -> str:
    """mongo shell syntax as mongod 4.0 logs it."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k}: {_shell(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[ " + ", ".join(_shell(v) for v in value) + " ]"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def _json_line(moment: str, conn: int, event: dict | None, rng: random.Random) -> str:
    if event is None:
        return json.dumps({"t": {"$date": moment}, "s": "I", "c": "NETWORK", "id": 22943, "ctx": "listener",
                           "msg": "Connection accepted", "attr": {"remote": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}:{rng.randint(1024, 65535)}",
                                                                   "connectionId": conn, "connectionCount": rng.randint(1, 500)}},
                          separators=(",", ":"))
    if event["type"] == "update":
        attr = {"type": "update", "ns": event["ns"], "command": {"q": event["q"], "u": {"$set": {"x": 1}}, "multi": False, "upsert": False},
                "planSummary": "IXSCAN { tenant_id: 1 }", "keysExamined": event["examined"], "docsExamined": event["examined"],
                "nMatched": 1, "nModified": 1, "numYields": 0, "locks": {"Global": {"acquireCount": {"w": 1}}},
                "durationMillis": event["ms"]}
        return json.dumps({"t": {"$date": moment}, "s": "I", "c": "WRITE", "id": 51803, "ctx": f"conn{conn}",
                           "msg": "Slow query", "attr": attr}, separators=(",", ":"))
    command = dict(event["command"], **{"lsid": {"id": {"$uuid": "829b14b2-0a55-4ec5-9130-4ef7f1837581"}}, "$db": "shop"})
    attr = {"type": "command", "ns": event["ns"], "appName": "shop-api", "command": command,
            "planSummary": event["plan"], "keysExamined": event["examined"] if event["plan"] != "COLLSCAN" else 0,
            "docsExamined": event["examined"], "cursorExhausted": True, "numYields": 0, "nreturned": event["returned"],
            "reslen": 4000, "locks": {"Global": {"acquireCount": {"r": 1}}}, "protocol": "op_msg",
            "durationMillis": event["ms"]}
    return json.dumps({"t": {"$date": moment}, "s": "I", "c": "COMMAND", "id": 51803, "ctx": f"conn{conn}",
                       "msg": "Slow query", "attr": attr}, separators=(",", ":"))


def _text_line(moment: str, conn: int, event: dict | None, rng: random.Random) -> str:
    if event is None:
        return (f"{moment} I NETWORK  [listener] connection accepted from 10.0.{rng.randint(0, 255)}."
                f"{rng.randint(1, 254)}:{rng.randint(1024, 65535)} #{conn} ({rng.randint(1, 500)} connections now open)")
    if event["type"] == "update":
        return (f"{moment} I WRITE    [conn{conn}] update {event['ns']} command: {_shell({'q': event['q'], 'u': {'$set': {'x': 1}}, 'multi': False, 'upsert': False})} "
                f"planSummary: IXSCAN {{ tenant_id: 1 }} keysExamined:{event['examined']} docsExamined:{event['examined']} "
                f"nMatched:1 nModified:1 numYields:0 locks:{{ Global: {{ acquireCount: {{ w: 1 }} }} }} {event['ms']}ms")
    command = dict(event["command"], **{"$db": "shop"})
    name = next(iter(command))
    keys = event["examined"] if event["plan"] != "COLLSCAN" else 0
    return (f"{moment} I COMMAND  [conn{conn}] command {event['ns']} appName: \"shop-api\" command: {name} {_shell(command)} "
            f"planSummary: {event['plan']} keysExamined:{keys} docsExamined:{event['examined']} cursorExhausted:1 "
            f"numYields:0 nreturned:{event['returned']} reslen:4000 locks:{{ Global: {{ acquireCount: {{ r: 1 }} }} }} "
            f"protocol:op_msg {event['ms']}ms")


def make_logs(work: Path, lines: int) -> tuple[Path, Path]:
    folder = work / "bench-logs"
    stamp, json_path, text_path = folder / "lines.txt", folder / "mongod-4.4.json.log", folder / "mongod-4.0.text.log"
    if stamp.exists() and stamp.read_text() == str(lines) and json_path.exists() and text_path.exists():
        return json_path, text_path
    folder.mkdir(parents=True, exist_ok=True)
    print(f"generating a {lines:,}-line log twice (JSON and text) in {folder} ...", file=sys.stderr)
    rng = random.Random(2026)
    with open(json_path, "w") as as_json, open(text_path, "w") as as_text:
        for number in range(lines):
            moment = START + datetime.timedelta(milliseconds=number * 37)
            event = _event(rng) if rng.random() < 0.3 else None
            conn = rng.randint(1, 5000)
            fork = random.Random(number)  # the same chatter in both files
            as_json.write(_json_line(moment.isoformat(timespec="milliseconds"), conn, event, fork) + "\n")
            fork = random.Random(number)
            as_text.write(_text_line(moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000", conn, event, fork) + "\n")
    stamp.write_text(str(lines))
    return json_path, text_path


# -- contenders (children) ---------------------------------------------------------------------

def run_ours(path: Path, workers: int | None = None) -> dict:
    from nosql_advisor.parallel import default_workers
    from nosql_advisor.sources.base import Selection
    from nosql_advisor.workload import read_workload

    workload = read_workload(logs=[path], selection=Selection(databases=("*",)), workers=workers or default_workers())
    source = workload.sources[0]
    return {"lines": source["lines"], "slow": source["slow"], "shapes": len(workload.shapes)}


def run_floor(path: Path) -> dict:
    groups: dict = {}
    lines = slow = 0
    with open(path, "rb") as handle:
        for line in handle:
            lines += 1
            entry = json.loads(line)
            if entry.get("id") == 51803:
                slow += 1
                attr = entry["attr"]
                key = (attr.get("ns"), attr.get("planSummary"))
                groups[key] = groups.get(key, 0) + attr.get("durationMillis", 0)
    return {"lines": lines, "slow": slow, "shapes": len(groups)}


CHILDREN = {"ours": run_ours, "ours-1": lambda path: run_ours(path, 1), "floor": run_floor}


def child(name: str, path: str) -> None:
    import nosql_advisor.workload  # noqa: F401 - imported before the clock starts

    start = time.perf_counter()
    result = CHILDREN[name](Path(path))
    result["seconds"] = time.perf_counter() - start
    print(json.dumps(result))


def measure(command: list[str], lines: int | None = None) -> dict:
    """Run one contender; its peak RSS is the kernel's accounting of that child (and, for
    `script`, of the program it runs)."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, error = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if process.returncode != 0:
        last = error.strip().splitlines() or text.strip().splitlines() or ["failed"]
        return {"error": last[-1][:160]}
    if lines is None:
        result = json.loads(text.strip().splitlines()[-1])
    else:
        result = {"lines": lines, "seconds": seconds, "output": text}
    result["peak_rss_mb"] = usage.ru_maxrss / 1024
    return result


def mtools_ready(work: Path) -> tuple[Path | None, str]:
    venv = work / "mtools-venv"
    mloginfo = venv / "bin" / "mloginfo"
    if not mloginfo.exists() or subprocess.run([str(venv / "bin" / "python"), "-c", "import dateutil, mtools"],
                                               capture_output=True).returncode != 0:
        print(f"installing mtools into {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=False, capture_output=True)
        done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "mtools", "python-dateutil"],
                              capture_output=True, text=True)
        if done.returncode != 0 or not mloginfo.exists():
            return None, f"mtools could not be installed: {done.stderr.strip()[-200:]}"
    if not shutil.which("script"):
        return None, "`script` (util-linux) not on PATH: mloginfo needs a terminal on stdin"
    return mloginfo, ""


def logs_bench(args) -> None:
    work = Path(args.work).resolve()
    json_path, text_path = make_logs(work, args.lines)
    me = [sys.executable, str(Path(__file__).resolve()), "_child"]
    rows = [("floor: json.loads, group by ns+plan", "json", me + ["floor", str(json_path)], None),
            ("nosql-advisor", "json", me + ["ours", str(json_path)], None),
            ("nosql-advisor", "text", me + ["ours", str(text_path)], None),
            ("nosql-advisor --workers 1", "json", me + ["ours-1", str(json_path)], None),
            ("nosql-advisor --workers 1", "text", me + ["ours-1", str(text_path)], None)]
    peer = "mloginfo --queries (mtools)"
    mloginfo, why = mtools_ready(work) if not args.only or args.only.lower() in peer.lower() else (None, "")
    for fmt, path in (("text", text_path), ("json", json_path)):
        if mloginfo is None:
            rows.append((peer, fmt, why, None))
        else:
            rows.append((peer, fmt,
                         ["script", "-qefc", f"{mloginfo} --queries --no-progressbar {path}", "/dev/null"], args.lines))
    results = []
    for name, fmt, command, lines in rows:
        if args.only and args.only.lower() not in name.lower():
            continue
        if isinstance(command, str):
            results.append((name, fmt, {"error": command}))
            continue
        result = measure(command, lines)
        if lines is not None and "error" not in result:
            output = result.pop("output")
            if "QUERIES" not in output or "namespace" not in output:
                last = [l for l in output.strip().splitlines() if l.strip()][-1:] or ["no output"]
                result = {"error": f"no query table: {last[0].strip()[:150]}"}
        results.append((name, fmt, result))
    print_table(results, args.lines)


def print_table(results, lines: int) -> None:
    print(f"\nslow-query logs, {lines:,} lines (30 % slow operations), {datetime.date.today()}, {os.cpu_count()} cores\n")
    print(f"{'contender':40} {'input':6} {'lines':>10} {'seconds':>8} {'lines/s':>9} {'peak MB':>8}")
    rate = {}
    for name, fmt, result in results:
        if "error" in result:
            print(f"{name:40} {fmt:6} {result['error']}")
            continue
        speed = result["lines"] / result["seconds"]
        rate[(name, fmt)] = (speed, result["peak_rss_mb"])
        print(f"{name:40} {fmt:6} {result['lines']:>10,} {result['seconds']:>8.2f} {speed:>9,.0f} {result['peak_rss_mb']:>8.0f}")
    print()
    ours_text, ours_json = rate.get(("nosql-advisor", "text")), rate.get(("nosql-advisor", "json"))
    peer = rate.get(("mloginfo --queries (mtools)", "text"))
    if ours_text and peer:
        ratio = ours_text[0] / peer[0]
        print(f"target (text): {ratio:.1f}x mloginfo's lines/s (goal >= {TARGET_TEXT_RATIO:.0f}x: {'met' if ratio >= TARGET_TEXT_RATIO else 'NOT met'})")
    else:
        print("target (text): not measured (mloginfo or nosql-advisor missing)")
    if ours_json:
        print(f"target (json): {ours_json[0]:,.0f} lines/s (goal >= {TARGET_JSON_RATE:,}: {'met' if ours_json[0] >= TARGET_JSON_RATE else 'NOT met'})")
    peaks = [v[1] for k, v in rate.items() if k[0] == "nosql-advisor"]
    if peaks:
        print(f"target (memory): peak RSS {max(peaks):.0f} MB (goal < {TARGET_RSS_MB} MB: {'met' if max(peaks) < TARGET_RSS_MB else 'NOT met'})")


if __name__ == "__main__" and len(sys.argv) > 3 and sys.argv[1] == "_child":
    sys.path.insert(0, str(ROOT))
    child(sys.argv[2], sys.argv[3])
