"""Shared fixtures: a real MongoDB-wire server (SecantusDB process or NOSQL_ADVISOR_TEST_URI),
and the third-party corpus beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def mongo_uri():
    """A server over TCP: SecantusDB started as its own process (free port, temp storage,
    stopped at the end), or the server named by NOSQL_ADVISOR_TEST_URI (a real mongod)."""
    given = os.environ.get("NOSQL_ADVISOR_TEST_URI")
    if given:
        yield given
        return
    from nosql_advisor.demo.server import start_secantus

    server = start_secantus()
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus not present")
    return CORPUS


def pytest_collection_modifyitems(config, items):
    """Tests marked `corpus` skip with a reason when ../shared/corpus is absent."""
    if CORPUS.is_dir():
        return
    skip = pytest.mark.skip(reason="../shared/corpus not present")
    for item in items:
        if "corpus" in item.keywords:
            item.add_marker(skip)
