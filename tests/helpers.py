"""What several test modules share: running the CLI as a user would, in its own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run_cli(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """`nosql-advisor ARGS` in `cwd`, stdin not a terminal (as in CI); no traceback may reach stderr."""
    done = subprocess.run([sys.executable, "-m", "nosql_advisor", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)
    assert "Traceback" not in done.stderr, done.stderr
    return done
