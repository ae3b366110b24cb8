"""Nothing secret leaves: no planted secret or personal value in any byte the tool writes, no
piece of a password wherever a URI is shown, URIs from the environment or a file, and value
hashes that mean nothing outside their run."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zlib
from datetime import datetime
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from pymongo import MongoClient

from nosql_advisor import redact
from nosql_advisor.demo import build_demo, load_live, write_dump, write_schema_files
from nosql_advisor.errors import InputError
from nosql_advisor.schema.generate import GenerateOptions, generate_validator
from nosql_advisor.shape import ShapeBuilder
from tests.helpers import run_cli

SEPARATORS = "/@:%?#&;="
# pieces no message, host name or report word holds, so finding one in an output is a leak
PIECE = st.text(alphabet="QXZJWVKqxzjwvk", min_size=4, max_size=8)
PASSWORD = st.lists(st.tuples(PIECE, st.sampled_from([*SEPARATORS, "%40", "%2F", ""])), min_size=1, max_size=4)
CLOSED_PORT = 1  # nothing listens on port 1 of the loopback
# one password holding every separator the generator draws from, each between two pieces: the
# explicit example the slow CLI tests always run, beside one generated (derandomized) example
EVERY_SEPARATOR = list(zip(["QXZJ", "WVKq", "xzjw", "KqXZ", "JWVK", "qxzj", "VKqx", "ZJWV", "kqxz", "WVKQ", "XZJW", "jwvk"],
                           [*SEPARATORS, "%40", "%2F", ""]))
CLI_EXAMPLES = settings(max_examples=1, derandomize=True, deadline=None,
                        suppress_health_check=[HealthCheck.function_scoped_fixture])


def password_of(parts) -> tuple[str, list[str]]:
    return "".join(piece + sep for piece, sep in parts), [piece for piece, _ in parts]


def outputs(done: subprocess.CompletedProcess, *folders: Path) -> str:
    """Every byte the tool wrote: stdout, stderr and every file under the folders."""
    texts = [done.stdout, done.stderr]
    for folder in folders:
        texts += [p.read_bytes().decode("utf-8", "replace") for p in sorted(folder.rglob("*")) if p.is_file()]
    return "\n".join(texts)


# -- URIs -----------------------------------------------------------------------------------------

@given(parts=PASSWORD, user=st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True))
def test_a_password_of_any_characters_is_masked_whole(parts, user):
    password, _ = password_of(parts)
    uri = f"mongodb://{user}:{password}@db1.example:27017,db2.example/shop?replicaSet=rs0&w=majority"
    assert redact.redact_uri(uri) == f"mongodb://{user}:***@db1.example:27017,db2.example/shop?replicaSet=rs0&w=majority"


OPTIONS = ["tlsCertificateKeyFilePassword", "sslPEMKeyPassword", "proxyPassword", "kmsSecret", "oidcToken"]


@given(name=st.sampled_from(OPTIONS), parts=PASSWORD)
def test_every_credential_option_is_masked(name, parts):
    value, pieces = password_of(parts)
    uri = f"mongodb+srv://cluster0.example/?tls=true&{name}={value}&appname=advisor"
    shown = redact.redact_uri(uri)
    assert f"{name}=***" in shown and shown.startswith("mongodb+srv://cluster0.example/?tls=true&")
    assert not any(piece in shown for piece in pieces), shown


@given(token=PIECE, key=PIECE)
def test_aws_session_tokens_in_auth_mechanism_properties_are_masked(token, key):
    uri = (f"mongodb://AKIAXYZ:{key}@cluster.example/?authMechanism=MONGODB-AWS"
           f"&authMechanismProperties=AWS_SESSION_TOKEN:{token},SERVICE_NAME:mongodb")
    shown = redact.redact_uri(uri)
    assert shown == ("mongodb://AKIAXYZ:***@cluster.example/?authMechanism=MONGODB-AWS"
                     "&authMechanismProperties=AWS_SESSION_TOKEN:***,SERVICE_NAME:mongodb")


@pytest.mark.parametrize("password", ["pa/ssQXZJ", "p@ssQXZJ", "QXZJ:WVKq", "QXZJ%40WVKq", "QX?ZJ#WV", "QXZ&JW=VK"])
def test_the_drivers_own_message_about_a_uri_keeps_no_piece_of_its_password(password):
    uri = f"mongodb://reader:{password}@127.0.0.1:{CLOSED_PORT}/shop?serverSelectionTimeoutMS=200"
    try:
        MongoClient(uri, connect=False).close()
        message = "no error"
    except Exception as error:  # noqa: BLE001 - whatever PyMongo raises for this URI
        message = redact.clean_error(error, uri)
    pieces = [p for p in re.split(r"[/@:%?#&=]", password) if len(p) >= 2]
    assert not any(piece in message for piece in pieces + [password]), message


def test_a_uri_comes_from_an_environment_variable_or_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("NOSQL_ADVISOR_TEST_SOURCE", "mongodb://u:QXZJ@h/shop\n")
    (tmp_path / "uri").write_text("\n  mongodb://u:WVKq@h/shop  \nsecond line\n")
    assert redact.resolve_source("env:NOSQL_ADVISOR_TEST_SOURCE") == "mongodb://u:QXZJ@h/shop"
    assert redact.resolve_source(f"file:{tmp_path / 'uri'}") == "mongodb://u:WVKq@h/shop"
    assert redact.resolve_source("dump/") == "dump/"
    monkeypatch.setenv("NOSQL_ADVISOR_EMPTY", "")
    for spec, named in [("env:NOSQL_ADVISOR_UNSET", "NOSQL_ADVISOR_UNSET"), ("env:NOSQL_ADVISOR_EMPTY", "NOSQL_ADVISOR_EMPTY"),
                        (f"file:{tmp_path / 'missing'}", "missing")]:
        with pytest.raises(InputError, match=named):
            redact.resolve_source(spec)


def together(*runs):
    """Run independent CLI calls (zero-argument callables) side by side, results in order: each is
    its own process, so the two cores are both used while the other waits on a socket."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=3) as pool:
        return list(pool.map(lambda run: run(), runs))


def run_tool(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    if env is None:
        return run_cli(*args, cwd=cwd)
    done = subprocess.run([sys.executable, "-m", "nosql_advisor", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300, stdin=subprocess.DEVNULL, env={**os.environ, **env})
    assert "Traceback" not in done.stderr, done.stderr
    return done


@CLI_EXAMPLES
@given(parts=PASSWORD, token=PIECE)
@example(parts=EVERY_SEPARATOR, token="ZQXJ")
def test_the_cli_against_an_unreachable_server_shows_no_piece_of_a_password(tmp_path_factory, parts, token):
    password, pieces = password_of(parts)
    folder = tmp_path_factory.mktemp("unreachable")
    base = f"127.0.0.1:{CLOSED_PORT}/shop?serverSelectionTimeoutMS=300&connectTimeoutMS=300"
    uris = [f"mongodb://reader:{password}@{base}",  # as typed: the driver may reject it
            f"mongodb://reader:{quote_plus(password)}@{base}",  # escaped: a connection error
            f"mongodb://reader:{quote_plus(password)}@{base}&authMechanism=MONGODB-AWS"
            f"&authMechanismProperties=AWS_SESSION_TOKEN:{token}&tlsCertificateKeyFilePassword={token}"]
    runs = []
    for number, uri in enumerate(uris):
        runs += [lambda uri=uri, out=folder / f"out{number}": run_tool("scan", uri, "--out", str(out), cwd=folder),
                 lambda uri=uri: run_tool("shape", "env:ADVISOR_URI", cwd=folder, env={"ADVISOR_URI": uri})]
    for done in together(*runs):
        assert done.returncode in (2, 3), done.stderr
        assert "***" in done.stderr or "env:ADVISOR_URI" in done.stderr
        text = outputs(done, folder)
        assert not any(secret in text for secret in [password, quote_plus(password), token, *pieces]), text


def test_an_unset_variable_is_named_and_exits_2(tmp_path):
    done = run_tool("scan", "env:NOSQL_ADVISOR_NOT_SET_ANYWHERE", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 2
    assert "NOSQL_ADVISOR_NOT_SET_ANYWHERE" in done.stderr and len(done.stderr.strip().splitlines()) == 1


# -- enums --------------------------------------------------------------------------------------

def test_no_enum_holds_a_secret_or_personal_value_and_the_field_says_why():
    keys = [f"sk_live_{n:024x}" for n in range(3)]  # a minority of the field's values
    documents = [{"plan": ["free", "pro", "team"][n % 3], "note": (keys[n % 3] if n < 3 else ["a", "b", "c", "d"][n % 4]),
                  "secret_word": ["red", "blue"][n % 2], "email": f"user{n % 5}@example.org"} for n in range(40)]
    builder = ShapeBuilder("app.accounts", enum_limit=100)
    for document in documents:
        builder.add(document, 100)
    schema = generate_validator(builder.finish(), GenerateOptions(enums=True))["$jsonSchema"]["properties"]
    assert schema["plan"]["enum"] == ["free", "pro", "team"]
    for path in ("note", "secret_word", "email"):
        assert "enum" not in schema[path], path
        assert schema[path]["description"].startswith("no enum:"), path
    assert not any(key in json.dumps(schema) for key in keys)


# -- value hashes ---------------------------------------------------------------------------------

def test_row_and_fingerprint_hashes_change_with_the_run_key_and_the_findings_do_not(tmp_path):
    from nosql_advisor.advise import advise
    from nosql_advisor.scan import ScanOptions, scan_sources

    demo = build_demo(seed=5, scale=0.03)
    write_dump(demo, tmp_path / "dump")
    runs = []
    for _ in range(2):
        redact.new_run_key()
        landscape = scan_sources([str(tmp_path / "dump")], ScanOptions())
        findings = sorted((f.rule, f.namespace, f.path, json.dumps(f.evidence, sort_keys=True, default=str))
                          for f in advise(landscape).findings if f.rule in ("DM201", "DM202", "DM601"))
        orders = next(c for c in landscape.collections if c.info.namespace == "shop.orders")
        _id = next(f for f in orders.shape.fields if f.path == "_id")
        runs.append((findings, orders.shape.rows[0]["_id"], set(_id.fingerprints[0])))
    (first, row_a, prints_a), (second, row_b, prints_b) = runs
    assert first == second and {f[0] for f in first} >= {"DM201", "DM202"}
    assert row_a != row_b and not prints_a & prints_b
    ids = [d["_id"] for d in next(c for c in demo.collections if c.name == "orders").documents]
    unkeyed = {int.from_bytes(hashlib.blake2b(i.binary, digest_size=8).digest(), "little") for i in ids}
    assert not prints_b & (unkeyed | {zlib.crc32(i.binary) for i in ids})


def test_worker_processes_hash_with_the_run_key(tmp_path):
    from nosql_advisor.scan import ScanOptions, scan_sources

    folder = tmp_path / "shop"
    folder.mkdir()
    line = '{{"_id": {n}, "sku": "sku-{m}", "note": "{pad}"}}\n'
    with open(folder / "items.json", "w") as handle:
        for n in range(60_000):
            handle.write(line.format(n=n, m=n % 700, pad="x" * 120))
    assert (folder / "items.json").stat().st_size > 8 << 20  # past PARALLEL_MIN_BYTES
    one, four = (scan_sources([str(folder / "items.json")], ScanOptions(workers=w)).collections[0].shape
                 for w in (1, 4))
    assert one.rows == four.rows and len(one.rows) == 2000
    sku = [f for f in one.fields if f.path == "sku"][0]
    assert sku.fingerprints == [f for f in four.fields if f.path == "sku"][0].fingerprints


# -- every byte written, demo database --------------------------------------------------------

def planted_values(demo) -> set[str]:
    """The values the demo planted as secrets and personal data (DM702/DM701 in its manifest),
    read from its generated documents."""
    values = set()
    by_namespace = {f"{demo.database}.{c.name}": c for c in demo.collections}
    for problem in demo.planted:
        if problem.rule not in ("DM701", "DM702") or not problem.path or problem.namespace not in by_namespace:
            continue
        for document in by_namespace[problem.namespace].documents:
            value = document
            for part in problem.path.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, str) and len(value) >= 6:
                values.add(value)
            elif isinstance(value, datetime):  # a birth date, as any report would spell it
                values.add(value.strftime("%Y-%m-%d"))
    return values


COMMANDS = [("scan", "--out", "{out}/scan"), ("validators", "--enum", "100", "--out", "{out}/validators"),
            ("shape", "--json"), ("diff", "--json")]


def every_output(source: str, folder: Path, schemas: tuple = ()) -> str:
    """stdout, stderr and every file of scan, validators --enum 100, shape --json and diff."""
    def run(command: str, *options: str) -> subprocess.CompletedProcess:
        extra = schemas if command in ("scan", "diff") else ()
        return run_cli(command, source, *[o.format(out=folder) for o in options], *extra, cwd=folder)

    texts = []
    for (command, *_), done in zip(COMMANDS, together(*[lambda c=c: run(*c) for c in COMMANDS])):
        assert done.returncode in (0, 1), (command, done.stderr)
        texts.append(outputs(done))
    return "\n".join(texts + [outputs(subprocess.CompletedProcess([], 0, "", ""), folder / "scan", folder / "validators")])


@pytest.fixture(scope="module")
def demo():
    return build_demo(seed=7, scale=0.05)


def test_no_planted_secret_in_any_byte_written_from_a_dump(tmp_path, demo):
    write_dump(demo, tmp_path / "dump")
    write_schema_files(demo, tmp_path / "schemas")
    secrets = planted_values(demo)
    assert len(secrets) > 100 and any(s.startswith("sk_live_") for s in secrets)
    assert any(re.fullmatch(r"(19|20)\d\d-\d\d-\d\d", s) for s in secrets)  # dates of birth too
    text = every_output(str(tmp_path / "dump"), tmp_path, ("--schemas", str(tmp_path / "schemas")))
    assert '"enum"' in text  # the validators were written, with enums where they are safe
    assert [s for s in secrets if s in text] == []


@pytest.mark.live
@pytest.mark.skipif(bool(os.environ.get("NOSQL_ADVISOR_TEST_URI")),
                    reason="starts its own SecantusDB with --auth; runs only without NOSQL_ADVISOR_TEST_URI")
def test_no_planted_secret_nor_password_in_any_byte_written_from_a_live_server(tmp_path, demo):
    from nosql_advisor.demo.server import start_secantus

    password, root_password = "QXZJ/@:%wvk-9", "WVKq:/@%xz-7"
    storage = tmp_path / "server"
    with start_secantus(storage=storage) as server:
        load_live(demo, server.uri)
        with MongoClient(server.uri) as client:
            client.admin.command("createUser", "root", pwd=root_password, roles=[{"role": "root", "db": "admin"}])
            client.shop.command("createUser", "reader", pwd=password, roles=[{"role": "read", "db": "shop"}])
    with start_secantus(storage=storage, auth=True) as server:
        host = server.uri.removeprefix("mongodb://").rstrip("/")
        uri = f"mongodb://reader:{quote_plus(password)}@{host}/shop?authSource=shop"
        text = every_output(uri, tmp_path)
        wrong = run_cli("scan", uri.replace(quote_plus(password), quote_plus(root_password)),
                        "--out", str(tmp_path / "wrong"), cwd=tmp_path)
        typed = run_cli("shape", f"mongodb://reader:{password}@{host}/shop?authSource=shop", cwd=tmp_path)
    assert wrong.returncode == 3 and typed.returncode in (2, 3)
    text += outputs(wrong, tmp_path / "wrong") + outputs(typed)
    assert "reader:***@" in text
    pieces = [p for p in re.split(r"[/@:%]", password + root_password) if len(p) >= 3]
    credentials = [password, quote_plus(password), root_password, quote_plus(root_password), *pieces]
    assert [s for s in credentials if s in text] == []
    assert [s for s in planted_values(demo) if s in text] == []


def test_a_failing_documents_id_that_is_personal_data_is_not_shown(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "schemas" / "app").mkdir(parents=True)
    emails = [f"jane.doe{n}@example.org" for n in range(30)]
    (tmp_path / "app" / "subscribers.json").write_text("".join(json.dumps({"_id": e, "n": 1}) + "\n" for e in emails))
    (tmp_path / "app" / "plans.json").write_text("".join(json.dumps({"_id": f"plan-{n}", "n": 1}) + "\n" for n in range(30)))
    for name in ("subscribers", "plans"):
        (tmp_path / "schemas" / "app" / f"{name}.json").write_text(json.dumps({"$jsonSchema": {"required": ["created_at"]}}))
    done = run_cli("scan", "app", "--schemas", "schemas", "--out", "out", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    examples = {f["namespace"]: f["evidence"] for f in report["findings"] if f["rule"] == "DM503"}
    assert set(examples) == {"app.subscribers", "app.plans"}
    assert "plan-" in json.dumps(examples["app.plans"])  # an _id that says nothing is still shown
    assert [e for e in emails if e in outputs(done, tmp_path / "out")] == []


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """A SecantusDB with --auth holding app.things, and a root user to create more users."""
    from nosql_advisor.demo.server import start_secantus

    if os.environ.get("NOSQL_ADVISOR_TEST_URI"):
        pytest.skip("starts its own SecantusDB with --auth; runs only without NOSQL_ADVISOR_TEST_URI")
    storage = tmp_path_factory.mktemp("auth-server")
    with start_secantus(storage=storage) as server:
        with MongoClient(server.uri) as client:
            client.admin.command("createUser", "root", pwd="rootQXZJ", roles=[{"role": "root", "db": "admin"}])
            client.app.things.insert_many([{"a": i} for i in range(5)])
    server = start_secantus(storage=storage, auth=True)
    yield server
    server.stop()


@pytest.mark.live
@CLI_EXAMPLES
@given(parts=PASSWORD)
@example(parts=EVERY_SEPARATOR)
def test_the_cli_against_a_reachable_server_shows_no_piece_of_a_password(auth_server, tmp_path_factory, parts):
    password, pieces = password_of(parts)
    folder = tmp_path_factory.mktemp("reachable")
    host = auth_server.uri.removeprefix("mongodb://").rstrip("/")
    user = f"u{abs(hash(password)) % 10**8}"
    with MongoClient(f"mongodb://root:rootQXZJ@{host}/?authSource=admin") as client:
        client.app.command("createUser", user, pwd=password, roles=[{"role": "read", "db": "app"}])
    escaped = f"mongodb://{user}:{quote_plus(password)}@{host}/app?authSource=app"
    wrong_uri = escaped.replace(quote_plus(password), "nope" + quote_plus(password))
    good, typed, wrong = together(
        lambda: run_tool("scan", escaped, "--out", str(folder / "out"), cwd=folder),
        lambda: run_tool("shape", f"mongodb://{user}:{password}@{host}/app?authSource=app", cwd=folder),
        lambda: run_tool("shape", "env:URI", cwd=folder, env={"URI": wrong_uri}))
    assert good.returncode in (0, 1), good.stderr
    assert json.loads((folder / "out" / "report.json").read_text())["collections"][0]["sampled"] == 5
    assert wrong.returncode == 3 and f"{user}:***@" in wrong.stderr
    text = outputs(good, folder) + outputs(typed) + outputs(wrong)
    assert not any(secret in text for secret in [password, quote_plus(password), *pieces]), text


@pytest.mark.parametrize("typed", ["MONGODB://reader:QXZJ/WVKq@h/shop", "mongodb:/reader:QXZJ/WVKq@h/shop",
                                   "Mongodb+srv://reader:QXZJ@WVKq@h/shop"])
def test_a_mistyped_scheme_is_taken_for_a_path_and_still_shows_no_password(tmp_path, typed):
    done = run_cli("scan", typed, "dump-that-is-not-there", "--out", "out", cwd=tmp_path)
    assert done.returncode == 2
    text = outputs(done, tmp_path)
    assert "reader:***@" in text and "QXZJ" not in text and "WVKq" not in text, text
