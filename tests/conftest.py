"""Shared fixtures: a real MongoDB-wire server (SecantusDB process or NOSQL_ADVISOR_TEST_URI),
and the third-party corpus beside the checkout."""

from __future__ import annotations

import inspect
import os
import re
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def mongo_uri():
    """A server over TCP: SecantusDB started as its own process (free port, temp storage,
    killed at the end), or the server named by NOSQL_ADVISOR_TEST_URI (a real mongod)."""
    given = os.environ.get("NOSQL_ADVISOR_TEST_URI")
    if given:
        yield given
        return
    from nosql_advisor.demo.server import start_secantus

    server = start_secantus()
    try:
        yield server.uri
    finally:
        server.process.kill()  # its storage is throw-away: no clean shutdown (2 s) to wait for
        server.stop()


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus not present")
    return CORPUS


@pytest.fixture(scope="session")
def corpus_landscape(corpus):
    """Every dataset of the corpus scanned once for the session (one source per database folder,
    as a user would point the tool at them): the corpus modules each assert different things
    about this one scan, which costs 15 s."""
    from nosql_advisor.scan import ScanOptions, scan_sources

    folders = sorted(str(p) for p in (corpus / "datasets").iterdir() if p.is_dir())
    return scan_sources(folders, ScanOptions())


@pytest.fixture(scope="session")
def corpus_advice(corpus_landscape):
    """The advice on `corpus_landscape` with the default settings, made once for the session."""
    from nosql_advisor.advise import advise

    return advise(corpus_landscape)


def pytest_collection_modifyitems(config, items):
    """Tests marked `corpus` skip with a reason when ../shared/corpus is absent; the `live`
    marker must agree with the tests that really reach a server."""
    check_live_markers(items)
    if CORPUS.is_dir():
        return
    skip = pytest.mark.skip(reason="../shared/corpus not present")
    for item in items:
        if "corpus" in item.keywords:
            item.add_marker(skip)


# What starting a server looks like in a test or one of its fixtures: the helper, the program
# run by hand, or the CLI's `demo run` (which starts its own SecantusDB process).
STARTS_A_SERVER = re.compile(r"start_secantus\(|Popen\(\[find_secantusd\(\)|\"demo\",\s*\"run\"")


def reaches_a_server(item) -> bool:
    """The test uses `mongo_uri` (directly or through a fixture), or its code or a fixture's
    code starts a server."""
    if "mongo_uri" in getattr(item, "fixturenames", ()):
        return True
    functions = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    for definitions in (info.name2fixturedefs.values() if info else ()):
        functions += [definition.func for definition in definitions]
    return any(STARTS_A_SERVER.search(source_of(function)) for function in functions if function)


def source_of(function) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def check_live_markers(items) -> None:
    """A test that reaches a server without `live` is a usage error (`-m "not live"` would run it
    without one); a `live` test that reaches none is named in a warning."""
    unmarked, idle = [], []
    for item in items:
        live, reaches = item.get_closest_marker("live") is not None, reaches_a_server(item)
        if reaches and not live:
            unmarked.append(item.nodeid)
        elif live and not reaches:
            idle.append(item.nodeid)
    for nodeid in idle:
        warnings.warn(f"{nodeid} is marked live but reaches no server", pytest.PytestWarning, stacklevel=1)
    if unmarked:
        raise pytest.UsageError("these tests reach a server but are not marked @pytest.mark.live: "
                                + ", ".join(unmarked))
