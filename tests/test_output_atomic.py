"""`--out` is written whole or not at all, holds only this run's files, and nothing escapes it.

Every test runs the real CLI (or the writer) on real files and reads the folder back from disk;
the CLI runs in this process (`run_in_process`: cli.main, its exit codes and stderr) since what
is checked is the folder, not the process.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import bson
import pytest
from pymongo import MongoClient

from helpers import run_in_process
from nosql_advisor.report.write import write_forms

MARKER = ".nosql-advisor-output"  # the name the brief gives the marker, typed here on purpose


def make_dump(root: Path, collections: dict[str, int], database: str = "shop") -> Path:
    """ROOT/<database>/<name>.bson with `count` small documents each."""
    folder = root / database
    folder.mkdir(parents=True, exist_ok=True)
    for name, count in collections.items():
        documents = [{"_id": i, "tenant_id": f"t{i % 3}", "name": f"{name}-{i}", "tags": ["a"] * (i % 4)}
                     for i in range(count)]
        (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
    return root


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under `folder` by relative path: file bytes, or the target of a symlink."""
    found: dict[str, bytes | str] = {}
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(parent) / name
            relative = str(path.relative_to(folder))
            if path.is_symlink():
                found[relative] = "-> " + os.readlink(path)
            elif path.is_file():
                found[relative] = path.read_bytes()
            else:
                found[relative] = "dir"
    return found


def siblings(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def namespaces(report_folder: Path) -> list[str]:
    report = json.loads((report_folder / "report.json").read_text())
    return [c["namespace"] for c in report["collections"]]


def test_a_second_scan_replaces_the_whole_set_so_no_stale_validator_stays(tmp_path):
    make_dump(tmp_path / "dump", {"orders": 20, "users": 10})
    first = run_in_process("scan", "dump", "--out", "r", "-q", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert sorted(os.listdir(tmp_path / "r" / "validators")) == [
        "shop.orders.js", "shop.orders.json", "shop.users.js", "shop.users.json"]
    (tmp_path / "dump" / "shop" / "users.bson").unlink()
    second = run_in_process("scan", "dump", "--out", "r", "-q", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert sorted(os.listdir(tmp_path / "r" / "validators")) == ["shop.orders.js", "shop.orders.json"]
    assert namespaces(tmp_path / "r") == ["shop.orders"]
    assert siblings(tmp_path) == ["dump", "r"]  # no temporary or old folder left beside --out


def test_the_marker_says_which_tool_wrote_the_folder_when_and_what(tmp_path):
    make_dump(tmp_path / "dump", {"orders": 5})
    assert run_in_process("scan", "dump", "--out", "r", "-q", cwd=tmp_path).returncode == 0
    marker = json.loads((tmp_path / "r" / MARKER).read_text())
    assert marker["tool"] == "nosql-advisor"
    version = run_in_process("--version", cwd=tmp_path).stdout.split()[-1]
    assert marker["version"] == version
    assert marker["generated_at"].startswith(json.loads((tmp_path / "r" / "report.json").read_text())
                                             ["generated_at"][:10])
    assert sorted(marker["files"]) == ["report.html", "report.json", "report.md", "report.sarif", "validators"]


def test_a_run_that_reads_nothing_leaves_the_previous_report_untouched_and_says_so(tmp_path):
    make_dump(tmp_path / "dump", {"orders": 20})
    assert run_in_process("scan", "dump", "--out", "r", "-q", cwd=tmp_path).returncode == 0
    before = snapshot(tmp_path / "r")
    bad_path = run_in_process("scan", "no-such-dump", "--out", "r", cwd=tmp_path)
    assert bad_path.returncode == 2
    assert "r: not written, no source could be read; the previous output there is unchanged" in bad_path.stderr
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = run_in_process("scan", f"mongodb://127.0.0.1:{closed}/?serverSelectionTimeoutMS=300", "--out", "r",
                                 "--write-baseline", "base.json", "-q", cwd=tmp_path)
    assert unreachable.returncode == 3
    assert "previous output there is unchanged" in unreachable.stderr
    assert not (tmp_path / "base.json").exists()  # an empty baseline would accept nothing
    assert snapshot(tmp_path / "r") == before
    assert siblings(tmp_path) == ["dump", "r"]


def test_the_validators_folder_is_kept_too_when_nothing_could_be_read(tmp_path):
    make_dump(tmp_path / "dump", {"orders": 20})
    assert run_in_process("validators", "dump", "--out", "v", "-q", cwd=tmp_path).returncode == 0
    assert sorted(os.listdir(tmp_path / "v")) == [MARKER, "shop.orders.js", "shop.orders.json"]
    before = snapshot(tmp_path / "v")
    failed = run_in_process("validators", "missing", "--out", "v", "-q", cwd=tmp_path)
    assert failed.returncode == 2 and "previous output there is unchanged" in failed.stderr
    assert snapshot(tmp_path / "v") == before
    make_dump(tmp_path / "dump", {"users": 3})
    (tmp_path / "dump" / "shop" / "orders.bson").unlink()
    assert run_in_process("validators", "dump", "--out", "v", "-q", cwd=tmp_path).returncode == 0
    assert sorted(os.listdir(tmp_path / "v")) == [MARKER, "shop.users.js", "shop.users.json"]


def test_a_folder_that_is_not_ours_is_refused_and_left_as_it_was(tmp_path):
    make_dump(tmp_path / "dump", {"orders": 5})
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("years of work")
    done = run_in_process("scan", "dump", "--out", "mine", "-q", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: mine: not empty and not an output folder of nosql-advisor (no .nosql-advisor-output in it); "
        "give a new or empty folder, nothing there is replaced"]
    assert snapshot(tmp_path / "mine") == {"thesis.txt": b"years of work"}
    (tmp_path / "a-file").write_text("x")
    assert run_in_process("scan", "dump", "--out", "a-file", "-q", cwd=tmp_path).returncode == 2
    assert (tmp_path / "a-file").read_text() == "x"
    (tmp_path / "empty").mkdir()
    assert run_in_process("scan", "dump", "--out", "empty", "-q", cwd=tmp_path).returncode == 0
    assert namespaces(tmp_path / "empty") == ["shop.orders"]
    assert siblings(tmp_path) == ["a-file", "dump", "empty", "mine"]


def test_files_a_user_put_in_the_output_folder_are_kept(tmp_path):
    make_dump(tmp_path / "dump", {"orders": 5})
    assert run_in_process("scan", "dump", "--out", "r", "-q", cwd=tmp_path).returncode == 0
    (tmp_path / "r" / "notes.md").write_text("what we decided")
    (tmp_path / "r" / "validators" / "stale.json").write_text("{}")  # inside a generated folder: ours
    assert run_in_process("scan", "dump", "--out", "r", "-q", cwd=tmp_path).returncode == 0
    assert (tmp_path / "r" / "notes.md").read_text() == "what we decided"
    assert sorted(os.listdir(tmp_path / "r" / "validators")) == ["shop.orders.js", "shop.orders.json"]


def test_symlinks_inside_out_are_replaced_and_their_targets_never_written(tmp_path):
    make_dump(tmp_path / "dump", {"orders": 5})
    assert run_in_process("scan", "dump", "--out", "r", "-q", cwd=tmp_path).returncode == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.md").write_text("do not overwrite")
    (outside / "shop.orders.json").write_text("keep me")
    (tmp_path / "r" / "report.md").unlink()
    (tmp_path / "r" / "report.md").symlink_to(outside / "precious.md")
    for name in os.listdir(tmp_path / "r" / "validators"):
        (tmp_path / "r" / "validators" / name).unlink()
    (tmp_path / "r" / "validators").rmdir()
    (tmp_path / "r" / "validators").symlink_to(outside, target_is_directory=True)
    done = run_in_process("scan", "dump", "--out", "r", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert snapshot(outside) == {"precious.md": b"do not overwrite", "shop.orders.json": b"keep me"}
    assert not (tmp_path / "r" / "report.md").is_symlink() and (tmp_path / "r" / "report.md").is_file()
    assert not (tmp_path / "r" / "validators").is_symlink()
    assert sorted(os.listdir(tmp_path / "r" / "validators")) == ["shop.orders.js", "shop.orders.json"]


ODD_NAMES = ["shop.sub/dir", "shop.../../../escaped", "shop.a..b", "shop..hidden", "shop.nul\x00byte",
             "shop.new\nline", "shop.bad\udcffutf8", "shop." + "long" * 80, "shop.a/b", "shop.a_b", "shop.A/b",
             "shop.Orders", "shop.orders", "../up.coll", "shop.back\\slash", "shop.trailing. "]


def test_every_odd_collection_name_gets_its_own_file_inside_out(tmp_path):
    """Validators and index scripts for hostile names: one file each, none outside --out, none
    shared, every name plain UTF-8 with no separator, control character or leading dot."""
    make_dump(tmp_path / "seed" / "dump", {"orders": 3})
    assert run_in_process("scan", "dump", "--out", "r", "-q", cwd=tmp_path / "seed").returncode == 0
    report = json.loads((tmp_path / "seed" / "r" / "report.json").read_text())
    report["index_advice"] = [{"namespace": name, "keys": [["tenant_id", 1]], "serves": ["q1"], "reason": "test"}
                              for name in ("../../evil.c", "sub/dir.c", "new\nline.c", "ok.c")]
    validators = {name: {"$jsonSchema": {"title": name, "bsonType": "object"}} for name in ODD_NAMES}
    out = tmp_path / "work" / "r"
    write_forms(out, report, validators)
    tmp_path = tmp_path / "work"
    assert siblings(tmp_path) == ["r"]
    scripts = sorted(os.listdir(out / "indexes"))
    assert len(scripts) == 4 and "ok.js" in scripts and all("/" not in s and "\n" not in s for s in scripts)
    evil = next((out / "indexes" / s).read_text() for s in scripts if s.startswith("new"))
    assert not any(line.startswith("line") for line in evil.splitlines())  # the name stays in its comment
    files = [Path(parent) / name for parent, _, names in os.walk(tmp_path) for name in names]
    root = os.path.realpath(out) + os.sep
    assert all(os.path.realpath(f).startswith(root) and f.is_file() and not f.is_symlink() for f in files)
    validator_files = [f for f in files if f.parent == out / "validators"]
    assert len(validator_files) == 2 * len(ODD_NAMES)
    titles = [json.loads(f.read_text())["$jsonSchema"]["title"] for f in validator_files if f.suffix == ".json"]
    assert sorted(titles) == sorted(ODD_NAMES)
    for f in validator_files:
        name = os.fsencode(f.name)
        assert not name.startswith(b".") and len(name) <= 255
        assert all(byte >= 0x20 and byte not in b"/\\" for byte in name)
        name.decode("utf-8")  # every name is UTF-8
    assert len({f.name.casefold() for f in validator_files}) == len(validator_files)  # also on macOS
    assert "shop.a..b.json" in {f.name for f in validator_files}  # a name that is safe keeps its form


def test_a_dump_with_odd_file_names_writes_only_inside_out(tmp_path):
    """Real files: collection files whose names are not UTF-8, start with a dot, hold a control
    character or are very long. Whatever the reader makes of them, every file the scan writes is
    inside --out and the validators match the collections of report.json one to one."""
    folder = tmp_path / "dump" / "shop"
    folder.mkdir(parents=True)
    for raw in (b"plain", b"caf\xe9", b"a..b", b"tab\tname", b"x" * 200, b"Plain"):
        with open(os.path.join(os.fsencode(folder), raw + b".bson"), "wb") as handle:
            handle.write(bson.encode({"_id": 1, "name": raw.decode("latin-1")}))
    done = run_in_process("scan", "dump", "--out", "r", "-q", cwd=tmp_path)
    assert "internal error" not in done.stderr and done.returncode in (0, 2), done.stderr
    assert siblings(tmp_path) == ["dump", "r"]
    root = os.path.realpath(tmp_path / "r") + os.sep
    written = [Path(parent) / name for parent, _, names in os.walk(tmp_path / "r") for name in names]
    assert all(os.path.realpath(f).startswith(root) for f in written)
    read = namespaces(tmp_path / "r")
    assert len(read) >= 4  # plain, Plain, a..b and the long one at least
    assert len(os.listdir(tmp_path / "r" / "validators")) == 2 * len(read)


def test_scanning_a_dump_with_its_own_report_inside_reads_the_same_collections_twice(tmp_path):
    make_dump(tmp_path / "dump", {"orders": 20, "users": 10})
    first = run_in_process("scan", "dump", "--out", "dump/report", "-q", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run_in_process("scan", "dump", "--out", "dump/report", "-q", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert namespaces(tmp_path / "dump" / "report") == ["shop.orders", "shop.users"]
    validators = run_in_process("validators", "dump", "--out", "dump/v", "-q", cwd=tmp_path)
    assert validators.returncode == 0, validators.stderr
    third = run_in_process("scan", "dump", "--out", "dump/report", "-q", cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert namespaces(tmp_path / "dump" / "report") == ["shop.orders", "shop.users"]


def test_an_interrupted_write_removes_its_new_folder_and_keeps_the_previous_set(tmp_path):
    """The writer itself: the set is half written when Ctrl-C arrives."""
    from nosql_advisor.report.output_folder import write_folder, write_text

    out = tmp_path / "r"
    write_folder(out, lambda folder: [write_text(folder / "report.json", "old\n")])
    before = snapshot(out)

    def half_then_interrupt(folder: Path) -> list[Path]:
        write_text(folder / "report.json", "new\n")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_folder(out, half_then_interrupt)
    assert snapshot(out) == before and siblings(tmp_path) == ["r"]


# -- a full disk: a small tmpfs mounted by the test ------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 384 KiB tmpfs at tmp_path/disk, unmounted afterwards (needs root, as in CI)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs to fill a disk needs root (CI runs as root)")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """A filler file taking all but about `leave` bytes of the disk."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return filler


@pytest.mark.parametrize("out_is_the_mount_point", [False, True], ids=["out-inside-disk", "out-is-mount-point"])
def test_a_full_disk_leaves_the_previous_set_whole(tmp_path, small_disk, out_is_the_mount_point):
    make_dump(tmp_path / "dump", {"orders": 20, "users": 10})
    out = small_disk if out_is_the_mount_point else small_disk / "r"
    first = run_in_process("scan", "dump", "--out", str(out), "-q", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = snapshot(out)
    assert "report.sarif" in before and "validators/shop.users.json" in before
    filler = fill(out, leave=48 * 1024)  # the new set (~250 KiB with coverage) cannot fit beside the old one
    full = run_in_process("scan", "dump", "--out", str(out), "-q", cwd=tmp_path)
    assert full.returncode == 2
    assert full.stderr.strip().splitlines()[-1] == (
        f"error: {out}: cannot write the output (no space left on the device); the previous output there is unchanged")
    filler.unlink()
    assert snapshot(out) == before
    assert sorted(os.listdir(small_disk)) == (sorted(before_names(before)) if out_is_the_mount_point else ["r"])
    again = run_in_process("scan", "dump", "--out", str(out), "-q", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert set(snapshot(out)) == set(before)


def before_names(entries: dict) -> set[str]:
    return {name.split("/")[0] for name in entries}


# -- live: collection names only a server can hold -------------------------------------------------


@pytest.mark.live
def test_live_collections_with_slashes_and_dots_stay_inside_out(mongo_uri, tmp_path):
    name = f"names_{uuid.uuid4().hex[:8]}"
    client = MongoClient(mongo_uri)
    # (no ".." here: PyMongo's collection objects refuse it, a matter of the live reader)
    wanted = ["sub/dir", "up/./x/escape", "Orders", "orders", "x" * 150, "tab\tname"]
    try:
        for collection in wanted:  # as commands: PyMongo itself refuses a name holding ".."
            client[name].command("insert", collection, documents=[{"_id": 1, "collection": collection}])
        done = run_in_process("validators", mongo_uri, "--db", name, "--out", "v", "-q", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    finally:
        client.drop_database(name)
        client.close()
    assert siblings(tmp_path) == ["v"]
    files = [Path(parent) / f for parent, _, names in os.walk(tmp_path) for f in names]
    assert all(f.parent == tmp_path / "v" for f in files)
    scripts = [f.read_text() for f in files if f.suffix == ".js"]
    for collection in wanted:  # each collection's collMod script is there, once
        assert sum(f'"collMod": {json.dumps(collection)}' in script for script in scripts) == 1, collection
    assert len([f for f in files if f.suffix == ".json"]) == len(wanted)
    assert len({f.name.casefold() for f in files}) == len(files)


def test_an_output_folder_of_a_version_before_the_marker_is_replaced_but_a_lookalike_is_not(tmp_path):
    make_dump(tmp_path / "dump", {"orders": 5})
    legacy = tmp_path / "legacy"
    (legacy / "validators").mkdir(parents=True)
    (legacy / "report.json").write_text(json.dumps({"version": 1, "tool": {"name": "nosql-advisor", "version": "0.0.9"}}))
    (legacy / "report.md").write_text("# old")
    (legacy / "validators" / "shop.gone.json").write_text("{}")
    done = run_in_process("scan", "dump", "--out", "legacy", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (legacy / MARKER).is_file()
    assert sorted(os.listdir(legacy / "validators")) == ["shop.orders.js", "shop.orders.json"]
    lookalike = tmp_path / "lookalike"
    lookalike.mkdir()
    (lookalike / "report.json").write_text(json.dumps({"tool": {"name": "another-tool"}}))
    refused = run_in_process("scan", "dump", "--out", "lookalike", "-q", cwd=tmp_path)
    assert refused.returncode == 2 and "not an output folder of nosql-advisor" in refused.stderr
    assert os.listdir(lookalike) == ["report.json"]
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "deploy.js").write_text("// not generated\n")
    (scripts / "deploy.json").write_text("{}")
    assert run_in_process("validators", "dump", "--out", "scripts", "-q", cwd=tmp_path).returncode == 2
    assert sorted(os.listdir(scripts)) == ["deploy.js", "deploy.json"]


@pytest.mark.parametrize("marker", ["", "not json", '{"files": []}'])
def test_a_marker_that_lists_nothing_is_not_a_licence_to_delete(tmp_path, marker):
    make_dump(tmp_path / "dump", {"orders": 5})
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / ".nosql-advisor-output").write_text(marker)
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    done = run_in_process("scan", "dump", "--out", "mine", "-q", cwd=tmp_path)
    assert done.returncode == 2 and "nothing there is replaced" in done.stderr
    assert snapshot(tmp_path / "mine") == {".nosql-advisor-output": marker.encode(), "precious.txt": b"keep me"}


def test_a_source_inside_an_output_folder_is_never_read_as_data(tmp_path):
    make_dump(tmp_path / "dump", {"orders": 5})
    assert run_in_process("scan", "dump", "--out", "dump/report", "-q", cwd=tmp_path).returncode == 0
    for inside in ("dump/report", "dump/report/validators", "dump/report/report.json",
                   "dump/report/validators/shop.orders.json"):
        done = run_in_process("scan", inside, "--out", "again", "-q", cwd=tmp_path)
        assert done.returncode == 2, (inside, done.stderr)
        assert "an output folder of nosql-advisor" in done.stderr and not (tmp_path / "again").exists()
