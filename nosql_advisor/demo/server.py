"""A local SecantusDB server as its own process: the embedded default and the test server.

SecantusDB (GPL-2.0) is a MongoDB-wire server; the package never imports it, it runs the
`secantusd-py` program from the [demo] extra on a free loopback port with its own storage.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from nosql_advisor.errors import InputError


@dataclass
class LocalServer:
    uri: str
    port: int
    process: subprocess.Popen
    storage: Path
    owns_storage: bool = True  # made by start_secantus, so stop() removes it

    def stop(self) -> None:
        """Stop the process (kill it after 10 s) and remove storage the server created itself."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.owns_storage:
            shutil.rmtree(self.storage, ignore_errors=True)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def find_secantusd() -> str:
    beside = Path(sys.executable).parent / "secantusd-py"
    if beside.exists():
        return str(beside)
    found = shutil.which("secantusd-py")
    if found:
        return found
    raise InputError("secantusd-py not found: install the [demo] extra: pip install 'nosql-advisor[demo]'")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_secantus(storage: Path | None = None, auth: bool = False, timeout: float = 30,
                   test_commands: bool = False) -> LocalServer:
    """Start `secantusd-py` on a free loopback port and wait until it answers `hello`.

    With `storage` given, that folder is used and kept (a test can restart it with auth);
    otherwise a temporary folder is made and removed by `stop()`. `test_commands` enables
    `configureFailPoint` (fault-injection tests only: any client could arm a fail point).
    """
    owns = storage is None
    folder = Path(tempfile.mkdtemp(prefix="secantus-")) if owns else Path(storage)
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [find_secantusd(), "--host", "127.0.0.1", "--port", str(port), "--storage-path",
               str(folder / "data"), "--log-level", "WARNING"] + (["--auth"] if auth else [])
    command += ["--enable-test-commands"] if test_commands else []
    log = open(folder / "secantusd.log", "ab")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    server = LocalServer(f"mongodb://127.0.0.1:{port}/", port, process, folder, owns)
    try:
        _wait_until_ready(server, timeout)
    except RuntimeError:
        server.stop()
        raise
    return server


def _wait_until_ready(server: LocalServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"secantusd-py exited with {server.process.returncode}: {_log_tail(server)}")
        try:
            with MongoClient(server.uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500) as client:
                client.admin.command("hello")
            return
        except PyMongoError:
            time.sleep(0.2)
    raise RuntimeError(f"secantusd-py did not answer within {timeout:.0f} s: {_log_tail(server)}")


def _log_tail(server: LocalServer) -> str:
    try:
        lines = (server.storage / "secantusd.log").read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(lines[-5:]) or "(empty log)"
