"""`--stratify time`: a sample drawn equally from age buckets, so a schema change in the newest
few documents is seen even when old documents are most of the collection.

The live tests share one database on the session server: `events`, 5,000 documents from the
first days of 2020 (ObjectIds of that time) and 50 from March 2026 that carry a new field
`channel`, and `keyed`, 250 old and the same 50 recent ones under string _ids (no age in the
_id), both with a `created_at` date equal to the document's time (and `keyed` 20 more documents
with no `created_at`). The range (2020-01-01 to
2026-03-01) split in 10 spans of about seven months puts every old document in the first bucket
and every recent one in the last: a stratified sample of 200 asks 100 of each, the last bucket
gives its 50, and the first gives the other 150."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid

import jsonschema
import pytest
from bson import ObjectId
from pymongo import MongoClient

from nosql_advisor.confidence import evidence_text, shape_share
from nosql_advisor.report.format import read_line, read_notes
from nosql_advisor.scan import ScanOptions, scan_sources
from nosql_advisor.schema.drift import _violations
from nosql_advisor.schema.generate import GenerateOptions, generate_validator
from nosql_advisor.schema.load import DeclaredSchema
from nosql_advisor.schema.validate import ValidationResult
from nosql_advisor.sources import live, strata
from nosql_advisor.sources.base import CollectionInfo, Selection
from nosql_advisor.sources.live import LiveOptions

from helpers import ROOT, SCHEMA, run_in_process
from test_server_contract import READS, TIMED, Recorder

OLD = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
NEW = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
OLD_COUNT, KEYED_OLD_COUNT, NEW_COUNT, UNDATED_COUNT, SAMPLE = 5000, 250, 50, 20, 200
# what the buckets hold and give, from the data above (see the module docstring)
HELD = [OLD_COUNT] + [0] * 8 + [NEW_COUNT]
KEYED_HELD = [KEYED_OLD_COUNT] + [0] * 8 + [NEW_COUNT]
READ = [SAMPLE - NEW_COUNT] + [0] * 8 + [NEW_COUNT]
# by created_at on `keyed`: the 20 undated documents are an eleventh bucket; 50 and 20 are each under a
# third of 200, so both give all they hold and the oldest bucket gives the other 130
KEYED_READ = [SAMPLE - NEW_COUNT - UNDATED_COUNT] + [0] * 8 + [NEW_COUNT, UNDATED_COUNT]


def documents(key, old_count: int) -> list[dict]:
    """`old_count` old documents a minute apart from OLD, the recent ones a minute apart from
    NEW with `channel`; `key(time, index)` gives the _id."""
    old = [{"_id": key(OLD + dt.timedelta(minutes=i), i), "created_at": OLD + dt.timedelta(minutes=i), "n": i}
           for i in range(old_count)]
    new = [{"_id": key(NEW + dt.timedelta(minutes=i), old_count + i), "created_at": NEW + dt.timedelta(minutes=i),
            "n": i, "channel": "app"} for i in range(NEW_COUNT)]
    return old + new


@pytest.fixture(scope="module")
def database(mongo_uri) -> str:
    name = f"stratify_{uuid.uuid4().hex[:8]}"
    with MongoClient(mongo_uri) as client:
        client[name].events.insert_many(documents(lambda time, i: ObjectId.from_datetime(time), OLD_COUNT))
        client[name].keyed.insert_many(documents(lambda time, i: f"evt-{i:05d}", KEYED_OLD_COUNT)
                                       + [{"_id": f"undated-{i}", "n": i} for i in range(UNDATED_COUNT)])
    yield name
    with MongoClient(mongo_uri) as client:
        client.drop_database(name)


def scan(mongo_uri: str, database: str, collection: str, **live_options):
    options = ScanOptions(Selection((database,), (collection,), SAMPLE), live=LiveOptions(**live_options))
    landscape = scan_sources([mongo_uri], options)
    (found,) = landscape.collections
    return found


@pytest.fixture(scope="module")
def plain(mongo_uri, database):
    return scan(mongo_uri, database, "events")


@pytest.fixture(scope="module")
def by_id(mongo_uri, database):
    return scan(mongo_uri, database, "events", stratify="time")


@pytest.fixture(scope="module")
def by_date(mongo_uri, database):
    return scan(mongo_uri, database, "keyed", stratify="time", time_field="created_at")


@pytest.fixture(scope="module")
def stratified(mongo_uri, database):
    """`shape --stratify time -n 200 --json` over both collections (the CLI, in this process),
    with every command the tool sent."""
    recorder = Recorder()
    live.MONITORS.append(recorder)
    try:
        done = run_in_process("shape", mongo_uri, "--db", database, "--stratify", "time", "-n", str(SAMPLE),
                              "--json", cwd=ROOT)
    finally:
        live.MONITORS.remove(recorder)
    assert done.returncode == 0, done.stderr
    shapes = {entry["namespace"].split(".", 1)[1]: entry for entry in json.loads(done.stdout)}
    return shapes, done.stderr, recorder


def presence(shape: dict, path: str) -> dict | None:
    return next((field for field in shape["fields"] if field["path"] == path), None)


@pytest.mark.live
def test_a_plain_sample_of_200_mostly_misses_the_new_field(plain):
    """50 of 5,050 documents hold `channel`: a uniform sample of 200 expects 2 of them, and holds
    more than 10 with a chance below 1e-5 (hypergeometric), so its share is small or absent."""
    field = plain.shape.field("channel")
    assert plain.shape.method == "sample" and plain.shape.strata is None
    assert field is None or field.probability <= 10 / SAMPLE


@pytest.mark.live
def test_stratify_time_reads_every_recent_document_and_lists_ten_buckets(stratified):
    shapes, _, _ = stratified
    events = shapes["events"]
    assert events["method"] == "sample"
    assert events["sampled"] == SAMPLE
    assert presence(events, "channel")["count"] == NEW_COUNT
    assert [bucket["documents"] for bucket in events["strata"]] == READ
    assert sum(bucket["documents"] for bucket in events["strata"]) == events["sampled"]
    assert [bucket["estimated"] for bucket in events["strata"]] == HELD


@pytest.mark.live
def test_the_buckets_run_from_the_oldest_to_the_newest_id_time(stratified):
    buckets = stratified[0]["events"]["strata"]
    assert buckets[0]["from"] == "2020-01-01T00:00:00Z"
    assert buckets[-1]["to"] == (NEW + dt.timedelta(minutes=NEW_COUNT - 1)).isoformat().replace("+00:00", "Z")
    assert all(earlier["to"] == later["from"] for earlier, later in zip(buckets, buckets[1:]))
    jsonschema.validate(buckets, strata_schema())


@pytest.mark.live
def test_stratified_shares_say_they_are_not_uniform_estimates(stratified):
    shapes, stderr, _ = stratified
    notes = [line for line in stderr.splitlines() if ".events: stratified sample: 10 age buckets" in line]
    assert len(notes) == 1
    assert "old documents are under-weighted" in notes[0]
    assert "they are shares of the sample, not estimates of the collection's" in notes[0]


@pytest.mark.live
def test_a_stratified_share_is_given_as_the_samples_with_no_interval(by_id):
    """`channel` is in 50 of the 200 read (25%) but 50 of 5,050 documents (0.99%): a finding's
    share of it must not read as the collection's, nor carry an interval that would."""
    shape = by_id.shape
    share = shape_share(shape, shape.field("channel").count, shape.sampled)
    assert share == {"share": NEW_COUNT / SAMPLE, "stratified": True}
    assert evidence_text(share) == ("25.0% (of a stratified sample, each age bucket weighing alike: "
                                    "not the collection's share)")
    line = read_line(shape.method, shape.sampled, shape.documents_estimated, stratified=bool(shape.strata))
    assert line == ("200 of 5,050 documents read ($sample by age bucket); shares are of the stratified "
                    "sample, not the collection's")


@pytest.mark.live
def test_a_stratified_schema_failure_share_is_not_called_the_collections(by_id):
    validation = ValidationResult("schemas/x.json", SAMPLE, NEW_COUNT)
    finding = _violations(by_id.shape, DeclaredSchema(by_id.shape.namespace, {}, "schemas/x.json"), validation)
    assert finding.evidence["failing_share"] == {"share": 0.25, "stratified": True}
    assert "of the collection" not in finding.message
    assert finding.message.endswith("25.0% (of a stratified sample, each age bucket weighing alike: "
                                    "not the collection's share).")


@pytest.mark.live
def test_ids_that_are_not_object_ids_fall_back_to_a_plain_sample_with_a_note(stratified):
    shapes, stderr, _ = stratified
    keyed = shapes["keyed"]
    assert "strata" not in keyed
    assert keyed["sampled"] == SAMPLE and keyed["method"] == "sample"
    assert keyed["stratify_fallback"].startswith("its _ids are not all ObjectIds (one is string)")
    jsonschema.validate(keyed, collection_schema())
    assert "stratify_fallback" not in shapes["events"]
    assert any(".keyed: --stratify time: its _ids are not all ObjectIds (one is string)" in line
               and "a plain $sample was read instead" in line for line in stderr.splitlines())


@pytest.mark.live
def test_stratified_reads_are_read_only_and_each_carries_max_time_ms(stratified):
    _, _, recorder = stratified
    sent = [(name, command) for _, name, command in recorder.commands]
    assert {name for name, _ in sent} <= READS
    assert all("maxTimeMS" in command for name, command in sent if name in TIMED)
    stages = [next(iter(stage)) for name, command in sent if name == "aggregate" for stage in command["pipeline"]]
    assert {"$bucket", "$match", "$sample"} <= set(stages)


@pytest.mark.live
def test_time_field_cuts_the_buckets_on_a_date_field(by_date):
    shape = by_date.shape
    assert shape.sampled == SAMPLE
    assert shape.field("channel").count == NEW_COUNT
    assert [bucket["documents"] for bucket in shape.strata] == KEYED_READ
    assert [bucket["estimated"] for bucket in shape.strata] == KEYED_HELD + [UNDATED_COUNT]
    assert any("10 age buckets of 'created_at'" in problem.message for problem in by_date.info.problems)


@pytest.mark.live
def test_documents_with_no_date_in_the_time_field_are_sampled_as_a_bucket_of_their_own(by_date):
    shape = by_date.shape
    assert shape.strata[-1] == {"from": None, "to": None, "documents": UNDATED_COUNT, "estimated": UNDATED_COUNT,
                                "undated": True}
    jsonschema.validate(shape.strata, strata_schema())
    assert shape.field("created_at").count == SAMPLE - UNDATED_COUNT
    assert f"{UNDATED_COUNT} documents hold no date in 'created_at': they are sampled as a bucket of their own" in [
        problem.message.split(" (")[0] for problem in by_date.info.problems]
    assert "no date" in read_notes(shape.strata, None)[0]


@pytest.mark.live
def test_a_time_field_some_documents_lack_is_not_required_in_the_generated_validator(by_date):
    """created_at is in 180 of the 200 read (95% lower bound near 0.85), `n` in all 200 (near 0.98)."""
    options = GenerateOptions(required_threshold=0.95)
    required = generate_validator(by_date.shape, options)["$jsonSchema"].get("required", [])
    assert "created_at" not in required and "n" in required


def test_time_field_must_be_a_field_path():
    from nosql_advisor.cli import check_stratify
    from nosql_advisor.errors import InputError

    assert check_stratify("time", "meta.created_at") == "time"
    for bad in ("$created_at", "meta..created", ""):
        with pytest.raises(InputError, match="is not a field path"):
            check_stratify("time", bad)


def test_time_field_without_stratify_is_bad_usage(tmp_path):
    export = tmp_path / "shop" / "orders.json"
    export.parent.mkdir()
    export.write_text('{"_id": 1}\n')
    done = run_in_process("shape", str(export), "--time-field", "created_at", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: --time-field needs --stratify time (it names the date field the age "
                                   "buckets are cut on)")


def test_stratify_on_a_file_says_it_applies_to_live_sources(tmp_path):
    export = tmp_path / "shop" / "orders.json"
    export.parent.mkdir()
    export.write_text('{"_id": 1, "a": 2}\n{"_id": 2, "a": 3}\n')
    done = run_in_process("shape", str(export), "--stratify", "time", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"note: {export}: --stratify applies to live sources" in done.stderr
    assert json.loads(done.stdout)[0]["sampled"] == 2


def test_a_sample_too_small_for_two_buckets_is_not_stratified():
    info = CollectionInfo("db.c", "here", "live", estimated_count=10_000)
    reason = asyncio.run(live.age_buckets(None, info, 30, "_id", LiveOptions(stratify="time")))
    assert reason == "a sample of 30 is too small to split into age buckets of at least 20 documents"


def test_a_range_of_three_seconds_makes_three_object_id_buckets():
    start = 1_600_000_000_000
    found = strata.buckets(start, start + 3000, 10, whole_seconds=True)
    assert [(bucket.start - start, bucket.end and bucket.end - start) for bucket in found] == [
        (0, 1000), (1000, 2000), (2000, None)]
    assert strata.buckets(start, start, 10, whole_seconds=False) == []


def test_share_out_gives_a_small_bucket_all_it_holds_and_the_rest_to_the_others():
    assert strata.share_out(200, HELD) == READ
    assert strata.share_out(100, [10, 1000, 1000]) == [10, 45, 45]
    assert strata.share_out(10, [100, 100, 100]) == [3, 3, 4]  # the remainder goes to the newest
    assert strata.share_out(50, [5, 0, 7]) == [5, 0, 7]


def test_bucket_count_keeps_at_least_twenty_documents_a_bucket():
    assert [strata.bucket_count(size) for size in (1000, 200, 100, 39)] == [10, 10, 5, 1]


def strata_schema() -> dict:
    """The `strata` entry of report.schema.json, wherever the collection's properties hold it."""
    def find(node):
        if isinstance(node, dict):
            if "strata" in node.get("properties", {}):
                return node["properties"]["strata"]
            for value in node.values():
                if (found := find(value)) is not None:
                    return found
        elif isinstance(node, list):
            for value in node:
                if (found := find(value)) is not None:
                    return found
        return None

    found = find(SCHEMA)
    assert found is not None, "report.schema.json describes no strata"
    return found


def collection_schema() -> dict:
    """report.schema.json's collection entry, with the schema's definitions it refers to."""
    return {"$ref": "#/$defs/collection", "$defs": SCHEMA["$defs"]}
