"""SIGINT and SIGTERM stop a run within 2 s, print one `interrupted:` line, exit 130 / 143, and
leave no worker process and no half-written output. The CLI runs as a real process; the signal
is sent to it (not to its process group, so the workers are its job), and /proc shows its children.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import bson
import pytest
from pymongo import MongoClient

from nosql_advisor.demo.server import find_secantusd, free_port

from helpers import run_in_process
from test_output_atomic import make_dump, siblings, snapshot

SIGNALS = [pytest.param(signal.SIGINT, 130, id="SIGINT"), pytest.param(signal.SIGTERM, 143, id="SIGTERM")]


def children(pid: int) -> list[int]:
    """The live processes whose parent is `pid`, from /proc (no psutil)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] == pid and stat[0] != "Z":
                found.append(int(entry))
    return found


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def gone(pid: int, within: float = 0.5) -> bool:
    """The process has ended (a zombie counts as ended), allowing `within` seconds for the reaper."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        stat = _stat(pid)
        if stat is None or stat[0] == "Z":
            return True
        time.sleep(0.02)
    return False


def start_cli(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nosql_advisor", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, timeout: float, what: str, process: subprocess.Popen):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"the CLI ended (exit {process.returncode}) before {what}: {process.stderr.read()}")
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"timed out waiting for {what}")


def interrupt(process: subprocess.Popen, signum: int) -> tuple[float, str]:
    """Send `signum`, wait for the exit; returns the seconds it took and stderr."""
    started = time.monotonic()
    process.send_signal(signum)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"still running 20 s after {signal.Signals(signum).name}")
    return time.monotonic() - started, process.stderr.read()


def assert_one_interrupted_line(stderr: str, signum: int) -> None:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    said = [line for line in lines if line.startswith("interrupted:")]
    assert len(said) == 1 and lines[-1] == said[0], stderr
    assert signal.Signals(signum).name in said[0]


def big_dump(root: Path, megabytes: int) -> Path:
    """ROOT/big/events.bson: many small varied documents (slow to infer), made by repeating a
    few hundred encoded ones, so it is quick to write."""
    block = b"".join(bson.encode({"_id": i, "tenant_id": f"t{i % 7}", "kind": ["click", "view", 3][i % 3],
                                  "at": i * 1000, "tags": [f"g{j}" for j in range(i % 5)],
                                  "meta": {f"k{j}": j for j in range(i % 9)}, "score": i / 7})
                     for i in range(500))
    path = root / "big" / "events.bson"
    path.parent.mkdir(parents=True)
    with open(path, "wb") as handle:
        for _ in range(megabytes * (1 << 20) // len(block) + 1):
            handle.write(block)
    return path


@pytest.mark.parametrize("signum, code", SIGNALS)
def test_a_signal_stops_a_parallel_file_scan_within_2_s_and_leaves_no_worker(tmp_path, signum, code):
    make_dump(tmp_path / "small", {"orders": 10})
    assert run_in_process("scan", "small", "--out", "r", "-q", cwd=tmp_path).returncode == 0  # the set before
    before = snapshot(tmp_path / "r")
    big_dump(tmp_path, megabytes=40)
    process = start_cli("scan", "big", "--workers", "2", "--out", "r", "-q", cwd=tmp_path)
    workers = wait_for(lambda: len(children(process.pid)) >= 2 and children(process.pid), 60,
                       "two worker processes", process)
    time.sleep(0.5)  # the workers are busy decoding
    assert process.poll() is None, "the scan ended before the signal: make the file bigger"
    took, stderr = interrupt(process, signum)
    assert took < 2.0, f"{took:.2f} s"
    assert process.returncode == code
    assert_one_interrupted_line(stderr, signum)
    assert all(gone(pid) for pid in workers), [(pid, _stat(pid)) for pid in workers]
    assert snapshot(tmp_path / "r") == before  # the previous report, whole
    assert siblings(tmp_path) == ["big", "r", "small"]  # no temporary folder left


def test_a_run_without_a_previous_report_leaves_no_output_folder_when_interrupted(tmp_path):
    big_dump(tmp_path, megabytes=30)
    process = start_cli("scan", "big", "--workers", "2", "--out", "r", "-q", cwd=tmp_path)
    wait_for(lambda: len(children(process.pid)) >= 2, 60, "two worker processes", process)
    took, stderr = interrupt(process, signal.SIGTERM)
    assert took < 2.0 and process.returncode == 143
    assert_one_interrupted_line(stderr, signal.SIGTERM)
    assert siblings(tmp_path) == ["big"]


# -- live: a scan waiting on a server that does not answer ---------------------------------------


@pytest.fixture(scope="module")
def blocking_server(tmp_path_factory):
    """A SecantusDB process of our own with test commands on (for the failCommand fail point)."""
    folder = tmp_path_factory.mktemp("secantus-test-commands")
    port = free_port()
    process = subprocess.Popen([find_secantusd(), "--host", "127.0.0.1", "--port", str(port), "--storage-path",
                                str(folder / "data"), "--log-level", "WARNING", "--enable-test-commands"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    uri = f"mongodb://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while True:
        try:
            with MongoClient(uri, serverSelectionTimeoutMS=300) as client:
                client.admin.command("ping")
            break
        except Exception:  # noqa: BLE001 - not up yet
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("secantusd-py --enable-test-commands did not start")
            time.sleep(0.2)
    yield uri, port
    process.kill()  # its data is throw-away, and a blocked connection would hold a clean shutdown
    process.wait()


def connected_to(pid: int, port: int) -> bool:
    """Whether process `pid` holds an established TCP connection to 127.0.0.1:`port`."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote_port = int(fields[2].split(":")[1], 16)
        if remote_port == port and fields[3] == "01" and fields[9] in inodes:
            return True
    return False


@pytest.mark.live
@pytest.mark.parametrize("signum, code", SIGNALS)
def test_a_signal_stops_a_live_scan_blocked_on_the_server_within_2_s(blocking_server, tmp_path, signum, code):
    uri, port = blocking_server
    name = f"sig_{uuid.uuid4().hex[:8]}"
    app = f"victim{uuid.uuid4().hex[:6]}"
    admin = MongoClient(uri)
    admin[name].orders.insert_many([{"_id": i, "tenant_id": f"t{i % 3}"} for i in range(200)])
    make_dump(tmp_path / "small", {"orders": 10})
    assert run_in_process("scan", "small", "--out", "r", "-q", cwd=tmp_path).returncode == 0  # the set before
    before = snapshot(tmp_path / "r")
    blocked = ["listDatabases", "listCollections", "aggregate", "find", "count", "listIndexes", "collStats"]
    admin.admin.command("configureFailPoint", "failCommand", mode="alwaysOn",
                        data={"failCommands": blocked, "blockConnection": True, "blockTimeMS": 30_000,
                              "appName": app})
    try:
        process = start_cli("scan", f"{uri}?appName={app}", "--db", name, "--out", "r", "-q", cwd=tmp_path)
        wait_for(lambda: connected_to(process.pid, port), 30, "a connection to the server", process)
        time.sleep(1.0)  # past the handshake: the next command waits on the fail point
        assert process.poll() is None
        took, stderr = interrupt(process, signum)
    finally:
        admin.admin.command("configureFailPoint", "failCommand", mode="off")
        admin.drop_database(name)
        admin.close()
    assert took < 2.0, f"{took:.2f} s"
    assert process.returncode == code
    assert_one_interrupted_line(stderr, signum)
    assert snapshot(tmp_path / "r") == before
    assert siblings(tmp_path) == ["r", "small"]


def test_when_the_way_out_hangs_the_watchdog_still_ends_the_run_within_2_s(tmp_path):
    """A process that swallows the KeyboardInterrupt and hangs (as a driver closing sockets to a
    dead server could): the watchdog removes the registered half-written folder and exits 143."""
    half_written = tmp_path / ".r.nosql-advisor-tmp-new-1-abcd"
    half_written.mkdir()
    (half_written / "report.json").write_text("{")
    script = f"""
import time
from pathlib import Path
import shutil
from nosql_advisor import interrupt
interrupt.install()
interrupt.on_hard_exit(1, lambda: shutil.rmtree({str(half_written)!r}))
ready = False
while True:
    try:  # "ready" is said inside the try: a signal right after it is swallowed too
        if not ready:
            print("ready", flush=True)
            ready = True
        time.sleep(60)
    except KeyboardInterrupt:
        pass  # swallowed: the way out hangs
"""
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=tmp_path)
    assert process.stdout.readline().strip() == "ready"
    took, stderr = interrupt(process, signal.SIGTERM)
    assert took < 2.0 and process.returncode == 143
    assert_one_interrupted_line(stderr, signal.SIGTERM)
    assert not half_written.exists()
