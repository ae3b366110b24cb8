"""mongod logs: slow operations to `Operation`s, streamed line by line in bounded memory.

Two formats, told apart line by line (a file may hold both across an upgrade):

- the structured JSON log of MongoDB 4.4+: a slow operation is `"id":51803` ("Slow query"),
  its details in `attr` (`command`, `originatingCommand`, `planSummary`, `docsExamined`,
  `durationMillis`...). Lines without that id are skipped before they are parsed.
- the text log of 4.2 and earlier: `... [conn1] command db.coll command: find { find: "coll",
  filter: {...} } planSummary: IXSCAN { a: 1 } keysExamined:1 ... 12ms` (and the 2.x forms
  `query db.coll query: {...}`, `update db.coll query: {...} update: {...}`). A slow operation is
  a line that ends in `<n>ms`; its objects are in mongo shell syntax (unquoted keys,
  `ObjectId('…')`, `new Date(…)`, `/regex/i`), read by the small parser below.

A line that looks like a slow operation but cannot be read is a `Problem` naming the file and
line (a note: the run goes on and its exit code does not change); past `MAX_PROBLEMS` per file
they are only counted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from nosql_advisor.errors import EXIT_OK, InputError, Problem
from nosql_advisor.sources.base import Selection
from nosql_advisor.sources.files import open_binary
from nosql_advisor.workload.extract import command_operations, legacy_query, set_metrics
from nosql_advisor.workload.shapes import Operation, Regex, Workload

_scan = json.JSONDecoder().scan_once  # the C scanner without json.loads' wrappers
SLOW_ID = b"51803"  # "id":51803, however the JSON is spaced; the parsed id is checked
MAX_PROBLEMS = 100  # per file (per worker's range); the rest are counted
PARALLEL_MIN_BYTES = 32 << 20  # below this, starting processes costs more than it saves
CACHE_LIMIT = 50_000  # parsed legacy commands kept by skeleton


def read_logs(paths: list[Path], selection: Selection = Selection(), workload: Workload | None = None,
              workers: int = 1) -> Workload:
    """Every slow operation of every log file, grouped into shapes. A large plain file is read by
    `workers` processes, each a byte range of it, merged exactly (gzip cannot be split)."""
    workload = workload or Workload()
    for path in paths:
        read_log(path, workload, selection, workers)
    return workload


def read_log(path: Path, workload: Workload, selection: Selection = Selection(), workers: int = 1) -> None:
    if not path.is_file():
        raise InputError(f"{path}: no such log file")
    source = {"location": str(path), "kind": "log", "lines": 0, "slow": 0, "operations": 0, "malformed": 0}
    size = path.stat().st_size
    if workers > 1 and not path.name.endswith(".gz") and size >= PARALLEL_MIN_BYTES:
        parts = _in_workers(path, selection, size, workers)
    else:
        part = Workload()
        try:
            with open_binary(path) as (stream, _):
                counts, bad = read_lines(stream, part, selection)
        except (EOFError, OSError) as error:
            counts, bad = {"lines": 0, "slow": 0, "operations": 0, "malformed": 0}, []
            what = "compressed stream ends early" if isinstance(error, EOFError) else f"cannot read: {error}"
            part.problems.append(Problem(str(path), f"{what}; the lines before it were read", EXIT_OK))
        parts = [(part, counts, bad)]
    first = 0
    for part, counts, bad in parts:
        for number, message in bad:
            workload.problems.append(Problem(f"{path}:{first + number}", message, EXIT_OK))
        first += counts["lines"]
        for name in ("lines", "slow", "operations", "malformed"):
            source[name] += counts[name]
        workload.merge(part)
    listed = sum(len(bad) for _, _, bad in parts)
    if source["malformed"] > listed:
        workload.problems.append(Problem(str(path), f"{source['malformed'] - listed} more malformed "
                                         "lines not listed", EXIT_OK))
    workload.sources.append(source)


def read_lines(lines, workload: Workload, selection: Selection) -> tuple[dict, list[tuple[int, str]]]:
    """The slow operations of an iterable of lines (bytes) into `workload`; returns the counts
    and the malformed lines as (line number from 1, message), at most MAX_PROBLEMS of them."""
    legacy = LegacyParser()
    counts = {"lines": 0, "slow": 0, "operations": 0, "malformed": 0}
    bad: list[tuple[int, str]] = []
    wanted: dict[str, bool] = {}
    number = 0
    for number, line in enumerate(lines, 1):
        if line[:1] == b"{":  # most lines are not slow operations: skip them unparsed
            if SLOW_ID not in line:
                continue
        elif not line.rstrip().endswith(b"ms"):
            continue
        found = _line_operations(line, legacy)
        if found is None:
            continue
        counts["slow"] += 1
        if isinstance(found, str):
            if found.startswith("malformed"):
                counts["malformed"] += 1
                if len(bad) < MAX_PROBLEMS:
                    bad.append((number, found))
            else:
                workload.skipped[found] += 1
            continue
        for operation in found:
            keep = wanted.get(operation.namespace)
            if keep is None:
                keep = wanted[operation.namespace] = _wanted(operation.namespace, selection)
            if keep:
                workload.add(operation)
                counts["operations"] += 1
            else:
                workload.skipped["namespace not selected"] += 1
    counts["lines"] = number
    return counts, bad


def _range_lines(path: Path, start: int, end: int) -> Iterator[bytes]:
    """The lines that begin in [start, end) of a plain file."""
    with open(path, "rb") as stream:
        position = start
        if start > 0:
            stream.seek(start - 1)
            position = start - 1 + len(stream.readline())  # the rest of the line begun before
        while position < end:
            line = stream.readline()
            if not line:
                return
            position += len(line)
            yield line


def _read_range(path: Path, start: int, end: int, selection: Selection):
    part = Workload()
    counts, bad = read_lines(_range_lines(path, start, end), part, selection)
    return part, counts, bad


def _in_workers(path: Path, selection: Selection, size: int, workers: int) -> list:
    from nosql_advisor.parallel import _context

    step = -(-size // workers)
    ranges = [(path, i * step, min(size, (i + 1) * step), selection) for i in range(workers)]
    with _context().Pool(workers) as pool:
        return pool.starmap(_read_range, ranges)


def _wanted(namespace: str, selection: Selection) -> bool:
    database, _, collection = namespace.partition(".")
    return bool(collection) and selection.wants(database, collection)


def _line_operations(line: bytes, legacy: LegacyParser) -> list[Operation] | str | None:
    """None: not a slow operation. A string: why it gives no operation ("malformed..." for a
    line that cannot be read). A list: its operations."""
    if line[:1] == b"{":
        if SLOW_ID not in line:
            return None
        try:
            text = line.decode("utf-8")
            entry, end = _scan(text, 0)
            if text[end:].strip():
                raise ValueError(f"extra data at column {end + 1}")
        except StopIteration:
            return "malformed JSON log line: not JSON"
        except (ValueError, UnicodeDecodeError) as error:
            return f"malformed JSON log line: {error}"
        return json_operations(entry)
    stripped = line.rstrip()
    if not stripped.endswith(b"ms"):
        return None
    return legacy.operations(stripped.decode("utf-8", errors="replace"))


def json_operations(entry) -> list[Operation] | str | None:
    """The operations of one 4.4+ log entry (None when it is not a slow operation)."""
    if not isinstance(entry, dict) or entry.get("id") != 51803:
        return None
    attr = entry.get("attr")
    if not isinstance(attr, dict) or not isinstance(attr.get("ns"), str):
        return "malformed slow query entry: no attr.ns"
    found = command_operations(attr["ns"], attr.get("command"), attr.get("originatingCommand"), attr.get("type"))
    if isinstance(found, list):
        set_metrics(found, attr, "durationMillis")
    return found


# -- the text log of 4.2 and earlier ---------------------------------------------------------

LEGACY_LINE = re.compile(
    r"\[(?P<ctx>[^\]]+)\] (?P<op>query|getmore|update|remove|command|count|distinct|findAndModify|insert|aggregate)"
    r" (?P<ns>\S+) (?P<rest>.*) (?P<ms>\d+)ms$")
OBJECT_LABEL = re.compile(r"\b(command|query|originatingCommand|update|updateobj): (?:(\w+) )?\{")
PLAN = re.compile(r"planSummary: (.*?)(?= \w+:\S|$)")
METRIC = re.compile(r"\b(nscanned|nscannedObjects|keysExamined|docsExamined|nreturned|scanAndOrder|hasSortStage"
                    r"|nMatched|ndeleted|nModified):(\d+)")
TOKEN = re.compile(r"""\s*(?:
    (?P<p>[{}\[\],:])
  | "(?P<dq>(?:[^"\\]|\\.)*)"
  | '(?P<sq>(?:[^'\\]|\\.)*)'
  | /(?P<re>(?:[^/\\\n]|\\.)+)/(?P<flags>[a-z]*)
  | (?P<call>[A-Za-z_$][\w$.]*\([^()]*\))
  | (?P<word>[^\s{}\[\],:"'()]+)
)""", re.X)
NUMBER = re.compile(r"-?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|Infinity|NaN)$")
VALUE = "<value>"  # what a value that is not a string, number, bool or regex stands for
# values blanked for the parse cache: strings (not keys, not $regex/$options operands), numbers
# other than the directions 1 and -1, ObjectIds
SKELETON = re.compile(r"""(?<!\$options: )(?<!\$regex: )"(?:[^"\\]|\\.)*"(?!\s*:)|(?<!\$options: )(?<!\$regex: )'(?:[^'\\]|\\.)*'"""
                      r"""|(?<=[:\[,] )(?!-?1(?:\.0)?[ ,\]}])-?\d[\d.eE+-]*(?=[ ,\]}])|ObjectId\('[0-9a-f]+'\)""")
TAIL = re.compile(r" planSummary: | \w+:\d| locks:\{| locks\(micros\)")


class ShellSyntaxError(ValueError):
    pass


def parse_shell_object(text: str, start: int) -> tuple[dict, int]:
    """The object literal at `text[start]` (a `{`) in mongo shell syntax, and where it ends."""
    parser = _Tokens(text, start)
    value = parser.value()
    if not isinstance(value, dict):
        raise ShellSyntaxError("expected an object")
    return value, parser.pos


class _Tokens:
    def __init__(self, text: str, pos: int) -> None:
        self.text, self.pos = text, pos
        self.peeked: tuple | None = None

    def next(self) -> tuple[str, object]:
        if self.peeked is not None:
            token, self.peeked = self.peeked, None
            return token
        match = TOKEN.match(self.text, self.pos)
        if match is None or match.end() == self.pos:
            raise ShellSyntaxError(f"unexpected text at column {self.pos + 1}")
        self.pos = match.end()
        kind = match.lastgroup
        if kind == "p":
            return "p", match.group("p")
        if kind in ("dq", "sq"):
            return "s", match.group(kind)
        if kind in ("re", "flags"):  # the flags group always takes part, empty or not
            return "v", Regex(match.group("re"), match.group("flags") or "")
        return "w", match.group(kind)

    def peek(self) -> tuple[str, object]:
        if self.peeked is None:
            self.peeked = self.next()
        return self.peeked

    def value(self):
        kind, token = self.next()
        if kind == "p" and token == "{":
            return self._object()
        if kind == "p" and token == "[":
            return self._array()
        if kind == "p":
            raise ShellSyntaxError(f"unexpected '{token}' at column {self.pos}")
        if kind == "s" or kind == "v":
            return token
        words = [token]
        while self.peek()[0] in ("w", "s"):  # new Date(…), Timestamp 1396966544000|1, BinData 0 …
            words.append(self.next()[1])
        return _word(words)

    def _object(self) -> dict:
        result: dict = {}
        if self.peek() == ("p", "}"):
            self.next()
            return result
        while True:
            kind, key = self.next()
            if kind not in ("w", "s"):
                raise ShellSyntaxError(f"expected a key at column {self.pos}")
            if self.next() != ("p", ":"):
                raise ShellSyntaxError(f"expected ':' after {key} at column {self.pos}")
            result[key] = self.value()
            kind, token = self.next()
            if (kind, token) == ("p", "}"):
                return result
            if (kind, token) != ("p", ","):
                raise ShellSyntaxError(f"expected ',' or '}}' at column {self.pos}")

    def _array(self) -> list:
        result: list = []
        if self.peek() == ("p", "]"):
            self.next()
            return result
        while True:
            result.append(self.value())
            kind, token = self.next()
            if (kind, token) == ("p", "]"):
                return result
            if (kind, token) != ("p", ","):
                raise ShellSyntaxError(f"expected ',' or ']' at column {self.pos}")


def _word(words: list) -> object:
    if len(words) == 1:
        word = words[0]
        if NUMBER.match(word):
            return float(word)
        if word in ("true", "false"):
            return word == "true"
        if word == "null":
            return None
        return word  # MinKey, an anonymised value: a value all the same
    return VALUE


class LegacyParser:
    """Reads the text log's slow-operation lines; remembers parsed commands by their skeleton
    (values blanked) so repeated shapes are parsed once."""

    def __init__(self) -> None:
        self.cache: dict[str, tuple] = {}

    def operations(self, line: str) -> list[Operation] | str | None:
        match = LEGACY_LINE.search(line)
        if match is None:
            return None
        op, namespace, rest = match.group("op"), match.group("ns"), match.group("rest")
        if op == "insert":
            return "insert: not a query"
        cut = TAIL.search(rest)
        head, tail = (rest[:cut.start()], rest[cut.start():]) if cut else (rest, "")
        try:
            objects = self._objects(head, not namespace.endswith(".$cmd"))
        except (ShellSyntaxError, RecursionError) as error:
            return f"malformed slow operation line: {error}"
        found = legacy_operations(op, namespace, objects)
        if isinstance(found, str):
            return found
        record: dict = {name: int(value) for name, value in METRIC.findall(tail)}
        plan = PLAN.search(tail)
        if plan:
            record["planSummary"] = plan.group(1).strip()
        record["millis"] = int(match.group("ms"))
        set_metrics(found, record, "millis")
        return found

    def _objects(self, head: str, cacheable: bool) -> dict[str, dict]:
        """Labelled objects (`command: find {…}`, `query: {…}`, `originatingCommand: {…}`)."""
        key = SKELETON.sub("?", head) if cacheable else None
        cached = self.cache.get(key) if key is not None else None
        if cached is not None:
            return cached
        objects: dict[str, dict] = {}
        pos = 0
        while True:
            label = OBJECT_LABEL.search(head, pos)
            if label is None or label.group(1) in objects:
                break
            value, pos = parse_shell_object(head, label.end() - 1)
            objects[label.group(1)] = value
        if key is not None:
            if len(self.cache) >= CACHE_LIMIT:
                self.cache.clear()
            self.cache[key] = objects
        return objects


def legacy_operations(op: str, namespace: str, objects: dict[str, dict]) -> list[Operation] | str:
    command = objects.get("command")
    if command is not None:
        return command_operations(namespace, command, objects.get("originatingCommand"),
                                  "remove" if op == "remove" else "update" if op == "update" else None)
    query = objects.get("query")
    if query is None:
        return f"{op} with no query recorded"
    if op == "query":
        found, sort = legacy_query(query)
        return [Operation(namespace, "find", found, sort=sort)]
    if op in ("update", "remove"):
        return [Operation(namespace, "update" if op == "update" else "delete", query)]
    if op == "getmore":
        found, sort = legacy_query(query)
        return [Operation(namespace, "find", found, sort=sort, getmore=True)]
    return f"{op}: not a query"
