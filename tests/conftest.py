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


# The tests whose outcome depends on the inference engine (the shape they infer, the problems
# damaged input gives, the findings read off a shape): scripts/test runs `-m engine` a second time
# with NOSQL_ADVISOR_ENGINE=python, so the reference stays tested where the native core is built.
# Module -> ALL, or the test-name prefixes that infer (the rest of those modules is about reading
# files: line caps, permissions, names). test_engine_sameness.py is not here: it runs both engines
# itself. The set runs in about 2 minutes on CI's machine.
ALL = ("test_",)
ENGINE_TESTS = {
    "test_infer.py": ALL, "test_bson_types.py": ALL, "test_rows.py": ALL, "test_parallel.py": ALL,
    "test_file_sampling.py": ALL, "test_rules_invariants.py": ALL, "test_rules_evolution.py": ALL,
    "test_rules_duplication.py": ALL, "test_rules_strings.py": ALL, "test_rules_scale.py": ALL,
    "test_bad_input.py": ALL, "test_sources.py": ALL,
    "test_properties.py": ("test_a_whole_scan_infers", "test_random_byte_damage"),
    "test_bad_files.py": ("test_every_bad_input_is", "test_a_truncated_small_json_gz",
                          "test_a_document_over_16_mib", "test_a_document_just_under_16_mib"),
}


def pytest_itemcollected(item):
    """Mark `engine` the tests of ENGINE_TESTS as they are collected (before `-m` selects)."""
    prefixes = ENGINE_TESTS.get(item.path.name)
    if prefixes and item.name.startswith(prefixes):
        item.add_marker(pytest.mark.engine)
