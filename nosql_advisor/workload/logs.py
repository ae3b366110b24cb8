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

Memory stays bounded whatever the file: no line is held past `MAX_LINE_BYTES` (a longer one is
read to its end in pieces, skipped and named with its length), and past `MAX_PROBLEMS` problems
per file the rest are only counted.

A line that looks like a slow operation but cannot be read, or one over the cap, is a `Problem`
naming the file and line (a note: the run goes on and its exit code does not change). A file
holding no mongod log line at all (binary, a PDF, an export of documents, empty) is bad input
(exit 2), so that it cannot pass for a log without slow operations.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nosql_advisor.errors import EXIT_OK, EXIT_USAGE, PROBLEMS_KEPT_PER_FILE, InputError, Omitted, Problem
from nosql_advisor.sources.base import Selection
from nosql_advisor.sources.files import open_binary, stream_error
from nosql_advisor.workload.extract import command_operations, legacy_query, set_metrics
from nosql_advisor.workload.shapes import Operation, Regex, Workload

_scan = json.JSONDecoder().scan_once  # the C scanner without json.loads' wrappers
SLOW_ID = b"51803"  # "id":51803, however the JSON is spaced; the parsed id is checked
MAX_PROBLEMS = PROBLEMS_KEPT_PER_FILE  # listed per file; the rest are counted (errors.Omitted)
MAX_LINE_BYTES = (16 << 20) + (1 << 20)  # a 16 MiB document and a margin of log text; mongod itself
# cuts attributes over 10 KB (maxLogSizeKB), so a real line is far shorter
PIECE_BYTES = 1 << 20  # an over-long line is read to its end in pieces of this size
HEAD_BYTES = 256  # of an over-long line, kept to tell whether it was a log line
MAX_SKIP_REASONS = 200  # distinct reasons an operation was not grouped; the rest are pooled
MAX_REASON_CHARS = 120
PARALLEL_MIN_BYTES = 32 << 20  # below this, starting processes costs more than it saves
CACHE_LIMIT = 50_000  # parsed legacy commands kept by skeleton


def read_logs(paths: list[Path], selection: Selection = Selection(), workload: Workload | None = None,
              workers: int = 1, max_line_bytes: int = MAX_LINE_BYTES) -> Workload:
    """Every slow operation of every log file, grouped into shapes. A large plain file is read by
    `workers` processes, each a byte range of it, merged exactly (gzip cannot be split). A line
    longer than `max_line_bytes` is skipped without being held (see `CappedLines`)."""
    workload = workload or Workload()
    for path in paths:
        read_log(path, workload, selection, workers, max_line_bytes)
    return workload


def read_log(path: Path, workload: Workload, selection: Selection = Selection(), workers: int = 1,
             max_line_bytes: int = MAX_LINE_BYTES) -> None:
    if not path.is_file():
        raise InputError(f"{path}: no such log file")
    size = path.stat().st_size
    if workers > 1 and not path.name.endswith(".gz") and size >= PARALLEL_MIN_BYTES:
        parts = _in_workers(path, selection, size, workers, max_line_bytes)
    else:
        parts = [_read_whole(path, selection, max_line_bytes)]
    source = {"location": str(path), "kind": "log", "lines": 0, "slow": 0, "operations": 0, "malformed": 0,
              "too_long": 0}
    problems = _merge_parts(path, parts, workload, source)
    workload.problems += _verdict(path, parts, source) + problems  # the verdict first: never hidden
    workload.sources.append(source)


def _read_whole(path: Path, selection: Selection, max_line_bytes: int) -> tuple:
    part = Workload()
    try:
        with open_binary(path) as (stream, _):
            lines = CappedLines(stream, max_line_bytes)
            counts, bad = read_lines(lines, part, selection)
            counts["error"] = lines.error
    except OSError as error:  # it cannot even be opened
        counts, bad = _no_counts(), []
        counts["error"] = f"cannot read: {error}"
    return part, counts, bad


def _merge_parts(path: Path, parts: list, workload: Workload, source: dict) -> list[Problem]:
    """Merge the parts in file order: their shapes, counts and the first MAX_PROBLEMS problems
    (line numbers made file-wide); the problems past those are counted in one `Omitted` note, so
    a million bad lines keep a hundred problems and one number."""
    problems: list[Problem] = []
    first = 0
    for part, counts, bad in parts:
        for number, message in bad[:MAX_PROBLEMS - len(problems)]:
            problems.append(Problem(f"{path}:{first + number}", message, EXIT_OK))
        first += counts["lines"]
        for name in COUNTED:
            source[name] += counts[name]
        workload.merge(part)
    unlisted = source["malformed"] + source["too_long"] - len(problems)
    if unlisted > 0:
        problems.append(Omitted(str(path), f"{unlisted:,} more malformed or over-long lines counted, not "
                                f"listed (the first {MAX_PROBLEMS} are)", EXIT_OK, unlisted))
    return problems


def _verdict(path: Path, parts: list, source: dict) -> list[Problem]:
    """What the file as a whole was: not a mongod log (exit 2: reading it gave nothing, and
    saying "no slow queries" would be a false all-clear), a log cut short, or a log without
    a slow operation (a note)."""
    error = next((counts["error"] for _, counts, _ in parts if counts["error"]), None)
    lines = source["lines"]
    if not any(counts["log_line"] for _, counts, _ in parts):
        if error:
            what = f"{error}; no mongod log line in the {lines:,} lines before it" if lines else \
                f"{error}; no mongod log line read"
        elif not lines:
            what = "holds no mongod log line (the file is empty)"
        else:
            what = (f"holds no mongod log line ({lines:,} lines, none in the JSON log format of 4.4+ "
                    "or the text format of earlier versions)")
        return [Problem(str(path), f"{what}; nothing read from it", EXIT_USAGE)]
    if error:
        return [Problem(str(path), f"{error}; the {lines:,} lines before it were read", EXIT_OK)]
    if not source["slow"]:
        return [Problem(str(path), f"no slow operation in its {lines:,} log lines", EXIT_OK)]
    return []


COUNTED = ("lines", "slow", "operations", "malformed", "too_long")


def _no_counts() -> dict:
    return {"lines": 0, "slow": 0, "operations": 0, "malformed": 0, "too_long": 0, "log_line": False}


def read_lines(lines, workload: Workload, selection: Selection) -> tuple[dict, list[tuple[int, str]]]:
    """The slow operations of an iterable of lines (bytes, or `LongLine` for one over the cap)
    into `workload`; returns the counts and the malformed or over-long lines as (line number
    from 1, message), at most MAX_PROBLEMS of them."""
    legacy = LegacyParser()
    counts = _no_counts()
    bad: list[tuple[int, str]] = []
    wanted: dict[str, bool] = {}
    number = 0
    seen = False  # a mongod log line met: checked only until the first one
    for number, line in enumerate(lines, 1):
        if line.__class__ is LongLine:
            seen = seen or is_log_line(line.head)
            counts["too_long"] += 1
            if len(bad) < MAX_PROBLEMS:
                bad.append((number, f"line of {line.length:,} bytes, over the {line.cap:,}-byte cap; "
                                    "skipped without being read"))
            continue
        if not seen:
            seen = is_log_line(line)
        if line[:1] == b"{":  # most lines are not slow operations: skip them unparsed
            if SLOW_ID not in line:
                continue
        elif not line.rstrip().endswith(b"ms"):
            continue
        found = _line_operations(line, legacy)
        if found is None:
            continue
        counts["slow"] += 1
        if isinstance(found, str) and found.startswith("malformed"):
            counts["malformed"] += 1
            if len(bad) < MAX_PROBLEMS:
                bad.append((number, found))
            continue
        seen = True  # a slow operation read is a log line, whatever its prefix (syslog, key order)
        if isinstance(found, str):
            skip(workload, found)
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
    counts["log_line"] = seen
    return counts, bad


def skip(workload: Workload, reason: str) -> None:
    """Count an operation not grouped, by its reason; reasons can hold names from the input (a
    command's first key), so they are cut short and, past MAX_SKIP_REASONS, pooled."""
    reason = reason[:MAX_REASON_CHARS]
    if reason not in workload.skipped and len(workload.skipped) >= MAX_SKIP_REASONS:
        reason = "other reasons"
    workload.skipped[reason] += 1


SYSLOG = rb"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ [\w./-]+(?:\[\d+\])?: )?"  # `Dec  1 20:00:01 host mongod[42]: `
JSON_LOG_START = re.compile(SYSLOG + rb'\{\s*"t"\s*:\s*\{\s*"\$date"\s*:')
TEXT_LOG_START = re.compile(  # 2.6+ ISO time (3.0+ adds severity and component), or 2.x ctime
    SYSLOG + rb"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* |[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d\S* )"
    rb"(?:[A-Z] [A-Z-]+ +)?\[")


def is_log_line(line: bytes) -> bool:
    """Whether a line is mongod's, as mongod or syslog wrote it: a 4.4+ JSON entry (it starts
    `{"t":{"$date":` and has a `msg`), or a text line of an earlier version (a timestamp, then
    `[context]`). A document that merely holds such text (`{"line": "2019-..."}`) is not one."""
    if JSON_LOG_START.match(line) is not None:
        return b'"msg"' in line
    return TEXT_LOG_START.match(line) is not None


@dataclass(frozen=True)
class LongLine:
    """A line over the cap, read to its end and not kept: its length and its first bytes."""

    length: int  # bytes, its newline included
    head: bytes
    cap: int


class CappedLines:
    """The lines of a binary stream, none held longer than `cap` bytes (plus its newline): a
    longer line is read to its end in pieces and given as a `LongLine`. Reading stops at a
    damaged or cut gzip stream; `error` then says why (the lines before it were given)."""

    def __init__(self, stream, cap: int = MAX_LINE_BYTES) -> None:
        self.stream, self.cap = stream, cap
        self.error: str | None = None

    def __iter__(self) -> Iterator[bytes | LongLine]:
        readline, limit = self.stream.readline, self.cap + 1
        try:
            while True:
                line = readline(limit)
                if len(line) < limit or line[-1:] == b"\n":
                    if not line:
                        return
                    yield line
                    continue
                head = line[:HEAD_BYTES]
                yield LongLine(len(line) + _rest_of_line(self.stream), head, self.cap)
        except (EOFError, OSError, zlib.error) as error:
            self.error = stream_error(error)


def _rest_of_line(stream) -> int:
    """Read to the end of the current line in pieces; its length, its newline included."""
    length = 0
    while True:
        piece = stream.readline(PIECE_BYTES)
        length += len(piece)
        if not piece or piece[-1:] == b"\n":
            return length


def _read_range(path: Path, start: int, end: int, selection: Selection, cap: int):
    """The lines that begin in [start, end) of a plain file, as `read_lines` gives them."""
    part = Workload()
    with open(path, "rb") as stream:
        position = start
        if start > 0:
            stream.seek(start - 1)
            position = start - 1 + _rest_of_line(stream)  # the rest of the line begun before
        lines = CappedLines(stream, cap)
        counts, bad = read_lines(_until(iter(lines), position, end), part, selection)
    counts["error"] = lines.error
    return part, counts, bad


def _until(lines: Iterator, position: int, end: int) -> Iterator[bytes | LongLine]:
    while position < end:
        line = next(lines, None)
        if line is None:
            return
        position += line.length if line.__class__ is LongLine else len(line)
        yield line


def _in_workers(path: Path, selection: Selection, size: int, workers: int, cap: int) -> list:
    """The byte ranges read by a pool of processes. The workers take the default action on
    SIGTERM (the pool's way to stop them) and leave SIGINT to this process (interrupt.py)."""
    from nosql_advisor import interrupt
    from nosql_advisor.parallel import _context

    step = -(-size // workers)
    ranges = [(path, i * step, min(size, (i + 1) * step), selection, cap) for i in range(workers)]
    with _context().Pool(workers, initializer=interrupt.reset_in_child) as pool:
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
        except json.JSONDecodeError as error:  # the line is one line: its column says where
            if error.pos >= len(text.rstrip()):
                return f"malformed JSON log line: cut short ({error.msg} at its end)"
            return f"malformed JSON log line: {error.msg} at column {error.pos + 1}"
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
                    r"|nMatched|ndeleted|nModified|upsert):(\d+)")  # upsert:1, an upsert that inserted (DM408)
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
