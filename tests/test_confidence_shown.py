"""Confidence where a person reads it: the `shape` tables, report.md and report.html say how each
collection was read, and show every sampled share with its 95% interval ("98.2% (96.9–99.0%)");
a collection read whole shows plain shares and says every document was read; report.json holds
`method` and `probability_ci` as schemas/report.schema.json describes them.

One live scan (session server) and one dump scan per module; the expected intervals are worked
out here from the documents inserted (the Wilson closed form with the finite population
correction), not read from the code under test."""

from __future__ import annotations

import io
import math
import re
import uuid
from statistics import NormalDist

import bson
import pytest
from pymongo import MongoClient
from rich.console import Console

from nosql_advisor.render_text import shape_table
from nosql_advisor.report.format import read_line, read_notes
from nosql_advisor.report.html import render_html
from nosql_advisor.report.json_report import build_report
from nosql_advisor.report.markdown import render_markdown
from nosql_advisor.report.sarif import rule_catalogue
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.shape.infer import ShapeBuilder
from nosql_advisor.sources.base import Selection
from tests.helpers import valid

BIG, SMALL, SAMPLE = 600, 50, 200  # BIG documents sampled SAMPLE at a time; SMALL read whole
INTERVAL = re.compile(r"\d+(\.\d+)?% \(\d+(\.\d+)?–\d+(\.\d+)?%\)")


def always_present_low(n: int, population: int) -> float:
    """The low end of the 95% Wilson interval of n hits in n draws from `population`: with the
    effective size m = n (N - 1) / (N - n), the closed form reduces to m / (m + z²)."""
    z = NormalDist().inv_cdf(0.975)
    effective = n * (population - 1) / (population - n)
    return effective / (effective + z * z)


@pytest.fixture(scope="module")
def live_report(mongo_uri):
    """`events`: BIG documents, `note` in 9 of 10, `meta.x` in every `meta`; `small`: SMALL
    documents, `note` in 4 of 5; scanned with a sample of SAMPLE."""
    client = MongoClient(mongo_uri)
    name = f"shown_{uuid.uuid4().hex[:8]}"
    client[name].events.insert_many([{"kind": "k", "meta": {"x": i}, **({"note": "n"} if i % 10 else {})}
                                     for i in range(BIG)])
    client[name].small.insert_many([{"kind": "k", **({"note": "n"} if i % 5 else {})} for i in range(SMALL)])
    options = ScanOptions(Selection(databases=(name,), sample_size=SAMPLE))
    landscape = scan_sources([mongo_uri], options)
    yield name, landscape, build_report(landscape)
    client.drop_database(name)
    client.close()


@pytest.fixture(scope="module")
def dump_report(tmp_path_factory):
    """A dump of `app.people` (300 documents, `nick` in 2 of 3) read whole, and read as a seeded
    file sample of 100."""
    folder = tmp_path_factory.mktemp("dump")
    (folder / "app").mkdir()
    documents = [{"_id": i, "name": "p", **({"nick": "x"} if i % 3 else {})} for i in range(300)]
    (folder / "app" / "people.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
    whole = scan_sources([str(folder)], ScanOptions())
    sampled = scan_sources([str(folder)], ScanOptions(Selection(sample_size=100)))
    return build_report(whole), build_report(sampled), whole, sampled


def text_of(shape) -> str:
    console = Console(file=io.StringIO(), width=220, color_system=None)
    console.print(shape_table(shape))
    return console.file.getvalue()


def shape_of(landscape, collection: str):
    return next(c.shape for c in landscape.collections if c.info.namespace.endswith("." + collection))


def entry_of(report: dict, collection: str) -> dict:
    return next(c for c in report["collections"] if c["namespace"].endswith("." + collection))


def row(text: str, key: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith(key + " "))


@pytest.mark.live
def test_report_json_says_how_each_collection_was_read_and_validates(live_report):
    _, _, report = live_report
    assert valid(report) == []
    events, small = entry_of(report, "events"), entry_of(report, "small")
    assert (events["method"], events["sampled"], events["documents_estimated"]) == ("sample", SAMPLE, BIG)
    assert (small["method"], small["sampled"], small["documents_estimated"]) == ("full", SMALL, SMALL)
    for field in events["fields"]:
        low, high = field["probability_ci"]
        assert low <= field["probability"] <= high, field["path"]
    assert not any("probability_ci" in field for field in small["fields"])
    assert next(f for f in small["fields"] if f["path"] == "note")["probability"] == 0.8  # 40 of 50, exact


@pytest.mark.live
def test_the_shape_table_shows_intervals_on_a_sample(live_report):
    _, landscape, _ = live_report
    text = text_of(shape_of(landscape, "events"))
    assert f"{SAMPLE} of {BIG} documents read ($sample); shares are 95% intervals" in text
    low = always_present_low(SAMPLE, BIG)  # kind: in every document drawn
    assert f"100.0% ({low * 100:.1f}–100.0%)" in row(text, "kind")
    assert INTERVAL.search(row(text, "note"))
    assert INTERVAL.search(row(text, "x"))  # meta.x, indented under meta


@pytest.mark.live
def test_the_shape_table_of_a_collection_read_whole_has_plain_shares(live_report):
    _, landscape, _ = live_report
    text = text_of(shape_of(landscape, "small"))
    assert f"{SMALL} documents, every document read" in text
    assert "80.0%" in row(text, "note") and not INTERVAL.search(text)


@pytest.mark.live
def test_report_md_shows_the_read_and_the_intervals(live_report):
    _, _, report = live_report
    markdown = render_markdown(report)
    events = markdown[markdown.index(f"{entry_of(report, 'events')['namespace']}</code>"):]
    events = events[:events.index("</details>")]
    assert f"{SAMPLE} of {BIG} documents read ($sample); shares are 95% intervals" in events
    low = always_present_low(SAMPLE, BIG)
    assert f"in every document (or subdocument) read (each at least {low * 100:.1f}% present, 95% confidence)" in events
    note = next(line for line in events.splitlines() if line.startswith("| `note` |"))
    assert INTERVAL.search(note)
    small = markdown[markdown.index(f"{entry_of(report, 'small')['namespace']}</code>"):]
    small = small[:small.index("</details>")]
    assert f"{SMALL} documents, every document read" in small
    assert "| `note` | 80.0% | string |" in small and not INTERVAL.search(small)


@pytest.mark.live
def test_report_html_labels_presence_bars_with_intervals(live_report):
    _, _, report = live_report
    html = render_html(report, rule_catalogue())
    events_at = html.index(f'<h3><code>{entry_of(report, "events")["namespace"]}</code></h3>')
    small_at = html.index(f'<h3><code>{entry_of(report, "small")["namespace"]}</code></h3>')
    events, small = (html[events_at:small_at], html[small_at:]) if events_at < small_at else \
        (html[events_at:], html[small_at:events_at])
    assert f"{SAMPLE} of {BIG} documents read ($sample); shares are 95% intervals" in events
    low = always_present_low(SAMPLE, BIG)
    assert f"<title>kind: 100.0% ({low * 100:.1f}–100.0%)</title>" in events
    assert 'class="whisker"' in events.split("</article>")[0]
    small = small.split("</article>")[0]
    assert f"{SMALL} documents, every document read" in small
    assert "<title>note: 80.0%</title>" in small and "whisker" not in small


def test_a_dump_read_whole_shows_no_interval_and_says_so(dump_report):
    whole, _, landscape, _ = dump_report
    assert valid(whole) == []
    people = entry_of(whole, "people")
    assert people["method"] == "full" and not any("probability_ci" in f for f in people["fields"])
    text = text_of(shape_of(landscape, "people"))
    assert "300 documents, every document read" in text and not INTERVAL.search(text)
    markdown = render_markdown(whole)
    assert "300 documents, every document read" in markdown and not INTERVAL.search(markdown)
    html = render_html(whole, rule_catalogue())
    assert "300 documents, every document read" in html and "<title>nick: 66.7%</title>" in html


def test_a_file_sample_carries_intervals_corrected_for_the_file(dump_report):
    _, sampled, _, landscape = dump_report
    assert valid(sampled) == []
    people = entry_of(sampled, "people")
    assert (people["method"], people["sampled"], people["documents_estimated"]) == ("file-sample", 100, 300)
    name = next(f for f in people["fields"] if f["path"] == "name")
    assert name["probability_ci"][0] == pytest.approx(always_present_low(100, 300), abs=1e-6)
    text = text_of(shape_of(landscape, "people"))
    assert "100 of 300 documents read (a seeded uniform sample of the file); shares are 95% intervals" in text


def test_the_schema_refuses_an_interval_on_a_collection_read_whole(dump_report):
    whole = dump_report[0]
    broken = {**whole, "collections": [{**entry_of(whole, "people"), "fields": [
        {**field, "probability_ci": [0.5, 1.0]} for field in entry_of(whole, "people")["fields"]]}]}
    assert valid(broken)
    backwards = {**whole, "collections": [{**entry_of(whole, "people"), "method": "sample", "fields": [
        {**field, "probability_ci": [0.5]} for field in entry_of(whole, "people")["fields"]]}]}
    assert valid(backwards)  # an interval is two numbers


def test_read_line_names_every_method():
    assert read_line("sample", 1000, 28112) == "1,000 of 28,112 documents read ($sample); shares are 95% intervals"
    assert read_line("full", 28112, 28112) == "28,112 documents, every document read"
    assert read_line("full", 900, 28112, complete=False) == "900 of 28,112 documents read before the read stopped"
    assert read_line("exact", 28112, 28112, exact={"passes": 1, "documents": 28112}) == \
        "exact: computed by the server over 28,112 documents"
    assert read_line("file-sample", 100, None) == \
        "100 documents read (a seeded uniform sample of the file); shares are 95% intervals"


def test_read_notes_list_the_strata_and_what_the_exact_pass_could_not_do():
    strata = [{"from": "2020-01-01T00:00:00Z", "to": "2023-01-01T00:00:00Z", "documents": 100},
              {"from": "2023-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "documents": 100}]
    assert read_notes(strata, None) == [
        "sampled by age in 2 buckets (2020-01-01..2023-01-01 100, 2023-01-01..2026-01-01 100): each bucket "
        "weighs alike, so shares lean to the ages the collection holds few of"]
    exact = {"passes": 2, "documents": 10, "fallbacks": {"document_size": "the server has no $bsonSize"},
             "found_only_by_exact": ["late"], "from_sample": ["distinct_estimate", "detected", "examined"]}
    assert read_notes(None, exact) == ["exact pass fell back for document_size: the server has no $bsonSize",
                                       "from the sample, not the exact pass: distinct counts, value detectors",
                                       "found only by the exact pass (the sample missed them): late"]
    assert math.isclose(always_present_low(10, 10**9), 10 / (10 + NormalDist().inv_cdf(0.975) ** 2), rel_tol=1e-6)


@pytest.mark.live
def test_an_exact_scan_says_the_server_counted_every_document(mongo_uri, live_report):
    name, _, _ = live_report
    options = ScanOptions(Selection(databases=(name,), collections=("events",), sample_size=SAMPLE), exact=True)
    landscape = scan_sources([mongo_uri], options)
    report = build_report(landscape)
    assert valid(report) == []
    events = entry_of(report, "events")
    assert (events["method"], events["exact"]["documents"]) == ("exact", BIG)
    assert not any("probability_ci" in field for field in events["fields"])
    text = text_of(shape_of(landscape, "events"))
    assert f"exact: computed by the server over {BIG} documents" in text
    assert "90.0%" in row(text, "note") and not INTERVAL.search(text)  # 540 of 600, counted
    assert f"exact: computed by the server over {BIG} documents" in render_markdown(report)


def test_a_path_only_the_exact_pass_found_says_so_in_the_table():
    builder = ShapeBuilder("t.c")
    for i in range(4):
        builder.add({"_id": i, "late": 1})
    shape = builder.finish(4)
    shape.method, shape.exact = "exact", {"passes": 2, "documents": 4, "found_only_by_exact": ["late"]}
    shape.field("late").found_only_by_exact = True
    text = text_of(shape)
    assert "late (exact pass only)" in text and "_id (exact pass only)" not in text
    assert "found only by the exact pass (the sample missed them): late" in text
