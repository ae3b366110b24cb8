"""`--apply`: the only code path that writes to a server. Off unless the user asks; the CLI prints
the plan and asks first. collMod for validators, createIndexes for index advice, both through
`run_commands`.

What an apply promises (README, "Writing to a server"):
- it never weakens what is there: a collection whose validator the new one would loosen is left
  alone and the plan lists each constraint that would go (path, keyword), unless the user passes
  `--allow-loosen`; a stricter validationLevel/validationAction is kept;
- before the first change, the validator of each collection it changes is saved beside the
  output with a mongosh script that restores it;
- each command's result is printed as it completes; a failure part-way names what was already
  changed and how to undo it. Not authorised and cannot connect exit 3, any other failure 2.
"""

from __future__ import annotations

import datetime
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bson import json_util
from pymongo import MongoClient
from pymongo.errors import (
    ConfigurationError, ConnectionFailure, InvalidURI, OperationFailure, PyMongoError,
)

from nosql_advisor.errors import AdvisorError, ConnectError, InputError
from nosql_advisor.redact import clean_error
from nosql_advisor.report.filenames import safe_stems, script_comment
from nosql_advisor.report.output_folder import write_text
from nosql_advisor.report.validators_out import COLLMOD_ACTION, COLLMOD_LEVEL, collmod_command
from nosql_advisor.schema.loosen import (
    DEFAULT_ACTION, DEFAULT_LEVEL, Loosening, action_rank, level_rank, same, show, stricter_action,
    stricter_level, validator_loosenings,
)
from nosql_advisor.sources.base import split_namespace
from nosql_advisor.sources.live import UNAUTHORIZED, client_listeners, redact_uri
from nosql_advisor.workload.indexes import Recommendation, create_indexes_command, describe

GRACE_MS = 5_000  # the client gives up this long after the server's maxTimeMS should have
SERVER_SELECTION_MS = 10_000
VALIDATION_OPTIONS = ("validator", "validationLevel", "validationAction")
PREVIOUS = "previous"  # DIR/previous/: what the collections held before this apply
CANONICAL = json_util.CANONICAL_JSON_OPTIONS
Echo = Callable[[str], None]


@dataclass(frozen=True)
class Step:
    """One command of an apply: what it changes, the line printed once it succeeded, and how to
    undo it (named in the message of a failure further on)."""

    namespace: str
    command: dict
    done: str
    undo: str


@dataclass
class ValidatorChange:
    """What `--apply` does to one collection's validator, decided before anything is written.

    verb: "add" (it has none), "replace", "refuse" (the new one would loosen it, or the
    collection is gone), "unchanged" (the server already has exactly this). `loosened` lists
    what the new validator removes or loosens (applied only with --allow-loosen)."""

    namespace: str
    verb: str
    previous: dict  # validator, validationLevel, validationAction as the server has them
    command: dict | None  # the collMod to run; None when nothing is run
    loosened: list[Loosening] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # what the new validator adds or tightens (the old one's loosenings, read the other way)
    tightened: list[Loosening] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The plan's lines for this collection."""
        head = f"  {self.namespace}: {VERBS[self.verb]}"
        if self.verb == "add":
            head += f" a validator (it has none); {_level_action(self.command)}"
        elif self.verb == "replace":
            head += f" its validator; {_level_action(self.command, self.notes)}"
            head += "" if self.loosened else "; nothing removed or loosened"
        else:
            head += "".join(f": {note}" for note in self.notes)
        if self.loosened:
            head += (f"; {len(self.loosened)} constraint(s) removed or loosened"
                     + (" (--allow-loosen)" if self.verb == "replace" else "") + ":")
        lines = [head] + [f"      - {loose}" for loose in self.loosened]
        if self.verb == "replace" and self.tightened:
            lines.append(f"    adds or tightens {len(self.tightened)} constraint(s):")
            lines += [f"      + {_added(t)}" for t in self.tightened[:SHOWN_TIGHTENED]]
            if len(self.tightened) > SHOWN_TIGHTENED:
                lines.append(f"      + ... and {len(self.tightened) - SHOWN_TIGHTENED} more (the new validator "
                             "is in the --out folder)")
        return lines


def _added(tightened: Loosening) -> str:
    """A constraint the new validator adds (`before` is its value, `after` what the old one had)."""
    value = "" if tightened.keyword == "required" else f" {show(tightened.before)}"
    said = f"{tightened.path or '(document)'}: {tightened.keyword}{value}"
    return said + ("" if tightened.after is None else f" (was {show(tightened.after)})")


VERBS = {"add": "ADD", "replace": "REPLACE", "refuse": "REFUSED", "unchanged": "UNCHANGED"}
SHOWN_TIGHTENED = 8  # the plan lists this many added constraints per collection, then counts the rest


def _level_action(command: dict, notes: list[str] = ()) -> str:
    """`validationLevel X, validationAction Y`, each with its note (kept: stricter...) if any."""
    said = []
    for name in ("validationLevel", "validationAction"):
        note = next((n for n in notes if n.startswith(name + " ")), None)
        said.append(note or f"{name} {command[name]}")
    return ", ".join(said)


# -- the plan -----------------------------------------------------------------------------------

def plan_validator(namespace: str, options: dict | None, validator: dict, allow_loosen: bool) -> ValidatorChange:
    """Compare the collection's options (from listCollections; None: it does not exist) with the
    generated validator and decide what to run."""
    if options is None:
        return ValidatorChange(namespace, "refuse", {}, None, notes=["the collection no longer exists"])
    previous = {key: options[key] for key in VALIDATION_OPTIONS if key in options}
    old = options.get("validator") or {}
    if not old:
        return ValidatorChange(namespace, "add", previous, collmod_command(namespace, validator))
    old_level = options.get("validationLevel", DEFAULT_LEVEL)
    old_action = options.get("validationAction", DEFAULT_ACTION)
    if allow_loosen:
        level, action = COLLMOD_LEVEL, COLLMOD_ACTION
    else:
        level, action = stricter_level(old_level, COLLMOD_LEVEL), stricter_action(old_action, COLLMOD_ACTION)
    if same(old, validator) and (level, action) == (old_level, old_action):
        return ValidatorChange(namespace, "unchanged", previous, None, notes=["the server already has this validator"])
    loosened = validator_loosenings(old, validator)
    tightened = validator_loosenings(validator, old)
    command = collmod_command(namespace, validator, level, action)
    if allow_loosen:
        return ValidatorChange(namespace, "replace", previous, command, loosened + _lowered(old_level, old_action),
                               tightened=tightened)
    if loosened:
        return ValidatorChange(namespace, "refuse", previous, None, loosened + _lowered(old_level, old_action),
                               ["the new validator would remove or loosen what the collection "
                                "enforces; not changed (--allow-loosen applies it)"])
    return ValidatorChange(namespace, "replace", previous, command, notes=_kept(level, action), tightened=tightened)


def _kept(level: str, action: str) -> list[str]:
    """The plan's notes on a collection's level/action kept over the generated ones."""
    return [f"{name} {value} (kept: stricter than the generated {generated})" for name, value, generated in
            (("validationLevel", level, COLLMOD_LEVEL), ("validationAction", action, COLLMOD_ACTION))
            if value != generated]


def _lowered(old_level: str, old_action: str) -> list[Loosening]:
    """validationLevel/validationAction the generated command would lower."""
    found = []
    if level_rank(COLLMOD_LEVEL) < level_rank(old_level):
        found.append(Loosening("", "validationLevel", old_level, COLLMOD_LEVEL))
    if action_rank(COLLMOD_ACTION) < action_rank(old_action):
        found.append(Loosening("", "validationAction", old_action, COLLMOD_ACTION))
    return found


def plan_validators(client: MongoClient, uri: str, validators: dict[str, dict], allow_loosen: bool,
                    max_time_ms: int) -> list[ValidatorChange]:
    """Read each collection's current options from the server (primary, now: not the scan's
    copy) and plan each collMod."""
    options = current_options(client, uri, sorted(validators), max_time_ms)
    return [plan_validator(ns, options.get(ns), validators[ns], allow_loosen) for ns in sorted(validators)]


def current_options(client: MongoClient, uri: str, namespaces: list[str], max_time_ms: int) -> dict[str, dict]:
    """namespace -> the options listCollections gives (collections that do not exist are absent)."""
    by_database: dict[str, list[str]] = {}
    for namespace in namespaces:
        database, name = split_namespace(namespace)
        by_database.setdefault(database, []).append(name)
    found: dict[str, dict] = {}
    for database, names in sorted(by_database.items()):
        with translated(uri, f"listCollections {database}"):
            reply = client[database].command("listCollections", filter={"name": {"$in": names}},
                                             maxTimeMS=max_time_ms)
        for entry in reply["cursor"]["firstBatch"]:  # at most len(names) entries
            found[f"{database}.{entry['name']}"] = dict(entry.get("options") or {})
    return found


# -- what is saved before a change ---------------------------------------------------------------

def restore_command(namespace: str, previous: dict) -> dict:
    """The collMod that puts back what the collection had (no validator: an empty one, with
    MongoDB's defaults strict/error)."""
    return {"collMod": split_namespace(namespace)[1], "validator": previous.get("validator") or {},
            "validationLevel": previous.get("validationLevel", DEFAULT_LEVEL),
            "validationAction": previous.get("validationAction", DEFAULT_ACTION)}


def restore_statement(namespace: str, previous: dict) -> str:
    """One mongosh statement running the restore collMod; EJSON keeps every BSON type as it was."""
    database, _ = split_namespace(namespace)
    command = json_util.dumps(restore_command(namespace, previous), json_options=CANONICAL)
    return f"printjson(db.getSiblingDB({json.dumps(database)}).runCommand(EJSON.parse({json.dumps(command)})));\n"


def previous_paths(folder: Path, namespace: str, stems: dict[str, str]) -> tuple[Path, Path]:
    """FOLDER/<namespace>.json (the options as they were) and .restore.js."""
    return folder / f"{stems[namespace]}.json", folder / f"{stems[namespace]}.restore.js"


def backup_folder(out: Path) -> Path:
    """OUT/previous/<UTC time>/, a name not taken yet: an earlier apply's backup (the validator as
    it was before that one) is never overwritten. The output writer carries OUT/previous/ over
    to later runs. Made by `make_backup_folder` once the user has confirmed."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    names = (f"{stamp}{suffix}" for suffix in ["", *(f"-{n}" for n in range(2, 10_000))])
    return next(out / PREVIOUS / name for name in names if not (out / PREVIOUS / name).exists())


def make_backup_folder(folder: Path) -> Path:
    """Make `folder` (the plan named it); another one beside it if that name was taken since."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir()
        except FileExistsError:
            return make_backup_folder(backup_folder(folder.parent.parent))
    except OSError as error:
        raise InputError(f"{folder}: cannot make the backup folder ({error.strerror or error}); "
                         "nothing was changed on the server") from None
    return folder


def save_previous(folder: Path, changes: list[ValidatorChange], server: str) -> Path:
    """Write into the new `folder`, for each change, the options it replaces and a mongosh script
    restoring them, and restore.js restoring them all; returns restore.js. Written (and on disk)
    before any command runs."""
    stems = safe_stems(change.namespace for change in changes)
    header = f"// nosql-advisor: the validators as they were on {script_comment(server)} before `validators --apply`.\n"
    everything = [header]
    try:
        for change in changes:
            json_path, js_path = previous_paths(folder, change.namespace, stems)
            write_text(json_path, json_util.dumps({"namespace": change.namespace, **change.previous},
                                                  json_options=CANONICAL, indent=2) + "\n")
            statement = restore_statement(change.namespace, change.previous)
            write_text(js_path, header + f"// Restores {script_comment(change.namespace)}: "
                                         f"mongosh \"$URI\" --file {script_comment(str(js_path))}\n" + statement)
            everything.append(statement)
        return write_text(folder / "restore.js", "".join(everything))
    except OSError as error:
        raise InputError(f"{folder}: cannot save the current validators ({error.strerror or error}); "
                         "nothing was changed on the server") from None


# -- the one code path that writes ----------------------------------------------------------------

def connect(uri: str, max_time_ms: int) -> MongoClient:
    """The --apply client: the tool's monitoring listeners, and a socket timeout derived from
    --max-time-ms so a server that stops answering cannot hold the run (URI options win)."""
    settings = {"serverSelectionTimeoutMS": SERVER_SELECTION_MS, "connectTimeoutMS": SERVER_SELECTION_MS,
                "socketTimeoutMS": max_time_ms + GRACE_MS, "appname": "nosql-advisor"}
    query = uri.partition("?")[2].lower()
    settings = {key: value for key, value in settings.items() if f"{key.lower()}=" not in query}
    try:
        return MongoClient(uri, event_listeners=client_listeners(), **settings)
    except ConfigurationError as error:  # InvalidURI included
        unresolved = not isinstance(error, InvalidURI) and re.search(r"dns|resolve", str(error), re.I)
        raise (ConnectError if unresolved else InputError)(
            f"{redact_uri(uri)}: {'cannot connect' if unresolved else 'invalid MongoDB URI'} "
            f"({clean_error(error, uri)})") from None


class translated:
    """Driver errors of a read before the writes as the tool's: 3 for cannot connect or not
    authorised, 2 for the rest, one line naming the (redacted) server and what was read."""

    def __init__(self, uri: str, what: str) -> None:
        self.uri, self.what = uri, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, PyMongoError):
            raise failure(self.uri, self.what, error) from None
        return False


def failure(uri: str, what: str, error: PyMongoError) -> AdvisorError:
    detail = clean_error(error, uri)
    if isinstance(error, ConnectionFailure):
        return ConnectError(f"{redact_uri(uri)}: cannot connect: {what} ({detail})")
    if isinstance(error, OperationFailure) and error.code in UNAUTHORIZED:
        return ConnectError(f"{redact_uri(uri)}: not authorised: {what} ({detail})")
    return InputError(f"{redact_uri(uri)}: {what} failed ({detail})")


def run_commands(client: MongoClient, uri: str, steps: list[Step], max_time_ms: int, echo: Echo) -> list[Step]:
    """Run each step on its namespace's database, in order, printing each result as it completes.
    The first failure stops the run with one line naming the command, the collections already
    changed and how to undo each (never the password). Returns the steps that changed something."""
    changed: list[Step] = []
    for position, step in enumerate(steps):
        database, _ = split_namespace(step.namespace)
        what = f"{next(iter(step.command))} {step.namespace}"
        try:
            reply = client[database].command(step.command, maxTimeMS=max_time_ms)
        except PyMongoError as error:
            maybe = step if isinstance(error, ConnectionFailure) else None  # sent, answer lost
            raise _part_way(failure(uri, what, error), changed, steps[position + 1:], maybe) from None
        except KeyboardInterrupt:
            echo(f"interrupted during {what}; {_changed_so_far(changed)}")
            raise
        if _no_op(reply):
            echo(f"{step.namespace}: already there, nothing changed")
        else:
            changed.append(step)
            echo(f"{step.namespace}: {step.done}")
    return changed


def _no_op(reply: dict) -> bool:
    """createIndexes of an index that already exists changes nothing (and must not be undone)."""
    return "numIndexesBefore" in reply and reply["numIndexesBefore"] == reply.get("numIndexesAfter")


def _part_way(error: AdvisorError, changed: list[Step], not_run: list[Step], maybe: Step | None) -> AdvisorError:
    message = f"{error}; {_changed_so_far(changed)}"
    if maybe is not None:
        message += (f"; {maybe.namespace} may have been changed too (the connection broke before the "
                    f"answer): check it, undo with: {maybe.undo}")
    if not_run:
        message += f"; not run: {', '.join(step.namespace for step in not_run)}"
    return type(error)(message)


def _changed_so_far(changed: list[Step]) -> str:
    if not changed:
        return "nothing was changed"
    return (f"already changed: {', '.join(step.namespace for step in changed)}; undo with: "
            + "; ".join(f"{step.namespace}: {step.undo}" for step in changed))


# -- the two applies -------------------------------------------------------------------------------

def validator_steps(changes: list[ValidatorChange], folder: Path) -> list[Step]:
    stems = safe_stems(change.namespace for change in changes)
    steps = []
    for change in changes:
        _, js_path = previous_paths(folder, change.namespace, stems)
        verb = "added" if change.verb == "add" else "replaced"
        steps.append(Step(change.namespace, change.command,
                          f"collMod done: validator {verb} ({_level_action(change.command)})",
                          f'mongosh "$URI" --file {shlex.quote(str(js_path))}'))
    return steps


def apply_validators(uri: str, validators: dict[str, dict], out: Path, max_time_ms: int,
                     allow_loosen: bool, confirm: Callable[[], None], echo: Echo) -> list[ValidatorChange]:
    """Plan, print the plan, ask (`confirm` raises to stop), save what is replaced to
    OUT/previous/, then run the collMods. Returns the plan (refused ones included)."""
    client = connect(uri, max_time_ms)
    try:
        changes = plan_validators(client, uri, validators, allow_loosen, max_time_ms)
        to_run = [change for change in changes if change.command is not None]
        folder = backup_folder(out)
        for line in plan_lines(changes, to_run, redact_uri(uri), folder):
            echo(line)
        if to_run:
            confirm()
            folder = make_backup_folder(folder)
            echo(f"saved what they hold now: {save_previous(folder, to_run, redact_uri(uri))} "
                 "(and one .json and .restore.js per collection)")
            run_commands(client, uri, validator_steps(to_run, folder), max_time_ms, echo)
    finally:
        client.close()
    return changes


def plan_lines(changes: list[ValidatorChange], to_run: list[ValidatorChange], server: str, folder: Path) -> list[str]:
    lines = [f"plan: collMod on {len(to_run)} of {len(changes)} collections of {server}:"]
    lines += [line for change in changes for line in change.lines()]
    if to_run:
        lines.append(f"before any change, what they hold now is saved to {folder}/; to restore them: "
                     f'mongosh "$URI" --file {shlex.quote(str(folder / "restore.js"))}')
    else:
        lines.append("nothing to apply")
    return lines


def index_steps(recommendations: list[Recommendation]) -> list[Step]:
    """One createIndexes per index, so a result says exactly which index was built (and its undo
    drops only that one)."""
    steps = []
    for r in sorted(recommendations, key=lambda r: (r.namespace, r.name)):
        database, collection = split_namespace(r.namespace)
        drop = (f"db.getSiblingDB({json.dumps(database)}).runCommand("
                f"{json.dumps({'dropIndexes': collection, 'index': [r.name]})})")
        steps.append(Step(r.namespace, create_indexes_command(r.namespace, [r]),
                          f"createIndexes done: index {r.name} {describe(r.keys)} built",
                          f'mongosh "$URI" --eval {shlex.quote(drop)}'))
    return steps


def apply_indexes(uri: str, recommendations: list[Recommendation], max_time_ms: int,
                  confirm: Callable[[], None], echo: Echo) -> list[Step]:
    """Print the plan, ask, build each index; returns the steps that built one."""
    steps = index_steps(recommendations)
    echo(f"plan: createIndexes on {redact_uri(uri)} ({len(steps)} indexes; nothing is dropped):")
    for r in sorted(recommendations, key=lambda r: (r.namespace, r.name)):
        echo(f"  {r.namespace}: ADD index {r.name} {describe(r.keys)}")
    confirm()
    client = connect(uri, max_time_ms)
    try:
        return run_commands(client, uri, steps, max_time_ms, echo)
    finally:
        client.close()
