"""The real mongod logs and profiler exports of ../shared/corpus, against an independent recount
written here with plain json and regular expressions (none of the code under test)."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter, defaultdict

import pytest

from nosql_advisor.sources.base import Selection
from nosql_advisor.workload import read_workload

pytestmark = pytest.mark.corpus

QUERY_COMMANDS = {"find", "aggregate", "count", "distinct", "findAndModify", "findandmodify"}
INTERNAL = ("admin.", "local.", "config.")


def opened(path):
    return gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else open(path, encoding="utf-8")


def recount_shape(filter_: dict) -> tuple:
    """Field names with the operators used on them (values dropped): enough to tell the shapes
    of these logs apart, and written without the code under test."""
    out = []
    for key, value in sorted(filter_.items()):
        if isinstance(value, dict) and value and all(k.startswith("$") for k in value) and "$oid" not in value:
            out.append((key, tuple(sorted(value))))
        else:
            out.append((key, "="))
    return tuple(out)


def json_recount(path) -> dict:
    """(namespace, op) -> [operations, total ms, distinct shapes]."""
    totals: dict = defaultdict(lambda: [0, 0, set()])
    with opened(path) as lines:
        for line in lines:
            if '"id":51803' not in line:
                continue
            attr = json.loads(line)["attr"]
            command = attr.get("command") or {}
            name = next(iter(command), None)
            namespace = attr["ns"]
            if name == "getMore":
                command = attr.get("originatingCommand") or {}
                name = next(iter(command), None)
            if attr.get("type") in ("update", "remove") and "q" in command:
                op, predicate = ("update" if attr["type"] == "update" else "delete"), command["q"]
            elif name in QUERY_COMMANDS and isinstance(command[name], str):
                op = "findAndModify" if name.lower() == "findandmodify" else name
                namespace = namespace.split(".")[0] + "." + command[name]
                predicate = command.get("filter") if name == "find" else command.get("query")
                if name == "aggregate":
                    first = (command.get("pipeline") or [{}])[0]
                    predicate = first.get("$match", {}) if isinstance(first, dict) else {}
            else:
                continue
            if namespace.startswith(INTERNAL) or ".system." in namespace:
                continue
            entry = totals[(namespace, op)]
            entry[0] += 1
            entry[1] += attr["durationMillis"]
            sort = command.get("sort") if name in ("find", "findAndModify", "findandmodify") else None
            entry[2].add((recount_shape(predicate or {}), tuple((k, v) for k, v in (sort or {}).items())))
    return {key: [n, ms, len(shapes)] for key, (n, ms, shapes) in totals.items()}


def ours(workload) -> dict:
    totals: dict = defaultdict(lambda: [0, 0, 0])
    for stats in workload.shapes.values():
        entry = totals[(stats.key.namespace, stats.key.op)]
        entry[0] += stats.count
        entry[1] += stats.total_ms
        entry[2] += 1
    return {key: [n, round(ms, 6), shapes] for key, (n, ms, shapes) in totals.items()}


@pytest.mark.parametrize("name", ["hatchet_sample-mongod_6.0.11.log.gz", "hatchet_replica_rs1_6.0.14.log.gz",
                                  "hatchet_replica_rs2_6.0.14.log.gz", "hatchet_replica_rs3_6.0.14.log.gz"])
def test_json_logs_match_an_independent_recount(corpus, name):
    path = corpus / "logs" / "json" / name
    expected = json_recount(path)
    workload = read_workload(logs=[path])
    assert ours(workload) == expected
    assert workload.problems == []
    source = workload.sources[0]
    with opened(path) as lines:
        assert source["lines"] == sum(1 for _ in lines)
    slow = {"hatchet_sample-mongod_6.0.11.log.gz": 27_429, "hatchet_replica_rs1_6.0.14.log.gz": 6_576,
            "hatchet_replica_rs2_6.0.14.log.gz": 1_767, "hatchet_replica_rs3_6.0.14.log.gz": 440}
    assert source["slow"] == slow[name]  # the corpus README's count


def test_the_sample_log_shapes_durations_and_plans(corpus):
    path = corpus / "logs" / "json" / "hatchet_sample-mongod_6.0.11.log.gz"
    durations, plans = [], Counter()
    with opened(path) as lines:
        for line in lines:
            if '"id":51803' in line and '"find":"__examples"' in line:
                attr = json.loads(line)["attr"]
                if list(attr["command"]["filter"]) == ["email"]:
                    durations.append(attr["durationMillis"])
                    plans[attr.get("planSummary")] += 1
    workload = read_workload(logs=[path])
    [stats] = [s for s in workload.shapes.values()
               if s.key.namespace == "testdb.__examples" and s.key.op == "find" and s.predicate == {"email": "eq"}]
    assert stats.count == len(durations) == 2988
    assert stats.total_ms == sum(durations)
    assert stats.max_ms == max(durations)
    durations.sort()
    assert stats.p95_ms == durations[-(-len(durations) * 95 // 100) - 1]  # nearest rank, all under 1 s
    assert dict(stats.plans) == dict(plans)


LEGACY = re.compile(r"\] (query|update|remove|command|getmore) (\S+) (.*) (\d+)ms$")


def legacy_recount(path) -> dict:
    """namespace -> [operations, total ms] for query, update and remove lines with their query
    and find/count/aggregate commands, by regex."""
    totals: dict = defaultdict(lambda: [0, 0])
    with opened(path) as lines:
        for line in lines:
            match = LEGACY.search(line.rstrip())
            if not match:
                continue
            op, namespace, rest, ms = match.groups()
            command = re.search(r"command: (?:\w+ )?\{ (\w+): (?:\"([^\"]*)\")?", rest)
            if op == "command":
                if not command or command.group(1) not in QUERY_COMMANDS or not command.group(2):
                    continue
                namespace = namespace.split(".")[0] + "." + command.group(2)
            elif op in ("query", "update", "remove"):
                if "query: {" not in rest and "command: { q:" not in rest:
                    continue
            else:
                continue
            if namespace.startswith(INTERNAL) or ".system." in namespace or namespace.endswith(".$cmd"):
                continue
            totals[namespace][0] += 1
            totals[namespace][1] += int(ms)
    return dict(totals)


@pytest.mark.parametrize("name", ["mtools_collscans.log", "mtools_mongod_4.0.10_slowtransactions.log",
                                  "mtools_mongod_4.0.10_allowdiskuse.log", "mtools_sharding_360_CSRS.log",
                                  "mtools_issue-636.log"])
def test_legacy_text_logs_match_an_independent_recount(corpus, name):
    path = corpus / "logs" / "legacy" / name
    expected = legacy_recount(path)
    workload = read_workload(logs=[path])
    got: dict = defaultdict(lambda: [0, 0])
    for stats in workload.shapes.values():
        got[stats.key.namespace][0] += stats.count
        got[stats.key.namespace][1] += stats.total_ms
    assert dict(got) == expected


def test_mtools_collscans_scan_and_order_and_ratio(corpus):
    workload = read_workload(logs=[corpus / "logs" / "legacy" / "mtools_collscans.log"])
    shapes = {(json.dumps(s.predicate, sort_keys=True), json.dumps(s.sort)): s for s in workload.shapes.values()}
    sorted_eq = shapes[('{"foo": "eq"}', '[["foo", -1]]')]
    assert sorted_eq.in_memory_sorts == 1 and sorted_eq.docs_examined == 100_000 and sorted_eq.nreturned == 1


def test_corrupt_lines_are_counted_with_file_and_line_and_never_fatal(corpus):
    path = corpus / "logs" / "legacy" / "mtools_mongod_4.0.10_storagestats.log"
    workload = read_workload(logs=[path])
    truncated = [n for n, line in enumerate(opened(path), 1) if re.search(r"\d+ms$", line.rstrip()) and "..." in line]
    assert [p.where for p in workload.problems] == [f"{path}:{n}" for n in truncated]
    assert workload.sources[0]["malformed"] == len(truncated) > 0
    assert workload.sources[0]["lines"] == 121  # read to the end


def test_profile_exports_of_every_version(corpus):
    folder = corpus / "profile" / "percona-toolkit"
    for path in sorted(folder.glob("system.profile_mongo-*.json")):
        documents = [json.loads(line) for line in opened(path) if line.strip()]
        expected = Counter()
        for document in documents:
            command = document.get("command") or {}
            first = next(iter(command), None)
            if document["op"] in ("update", "remove") and "q" in command:
                expected["update" if document["op"] == "update" else "delete"] += 1
            elif first in ("find", "aggregate", "count", "distinct", "findandmodify", "mapreduce", "geoNear"):
                expected[{"findandmodify": "findAndModify", "mapreduce": "mapReduce"}.get(first, first)] += 1
            elif first == "getMore":
                expected[next(iter(document["originatingCommand"]))] += 1
        workload = read_workload(profiles=[str(path)], selection=Selection(databases=("*",)))
        got = Counter()
        for stats in workload.shapes.values():
            got[stats.key.op] += stats.count
        assert got == expected, path.name
    legacy = corpus / "profile" / "ozlerhakan_profiles_mongo-2.2.json.gz"
    workload = read_workload(profiles=[str(legacy)])
    queries = sum(1 for line in opened(legacy) if '"op":"query"' in line and '"ns":"school2.system' not in line)
    assert sum(s.count for s in workload.shapes.values() if s.key.op == "find") == queries


def test_a_profile_in_shell_syntax_is_bad_input_naming_file_and_line(corpus):
    path = corpus / "profile" / "percona-toolkit" / "system.profile_shell-format_mongo-4.4.txt"
    workload = read_workload(profiles=[str(path)])
    shell_only = re.compile(r"\b(UUID|NumberLong|NumberInt|ISODate|ObjectId|Timestamp|BinData)\(|: /")
    first_bad = next(n for n, line in enumerate(opened(path), 1) if shell_only.search(line))
    verdict, first_line = workload.problems[0], workload.problems[1]
    assert verdict.where == str(path) and "holds no system.profile document" in verdict.message
    assert verdict.exit_code == 2 and first_line.exit_code == 2
    assert first_line.where == f"{path}:{first_bad}"
