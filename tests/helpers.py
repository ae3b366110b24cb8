"""What several test modules share: running the CLI as a user would, in its own process, and
checking its reports against their schemas."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schemas" / "report.schema.json").read_text())
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas-ext" / "sarif-schema-2.1.0.json"


def run_cli(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    """`nosql-advisor ARGS` in `cwd`, stdin not a terminal (as in CI); no traceback may reach stderr."""
    done = subprocess.run([sys.executable, "-m", "nosql_advisor", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def valid(report: dict) -> list[str]:
    """report.json's errors against schemas/report.schema.json (none: valid)."""
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(report)]


def sarif_errors(log: dict) -> list[str]:
    """A SARIF log's errors against the official 2.1.0 schema (in ../shared)."""
    schema = json.loads(SARIF_SCHEMA.read_text())
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]


def scanned_dump(tmp_path: Path, collections: dict[str, list[dict]], indexes: dict[str, list[dict]] | None = None,
                 database: str = "app"):
    """A mongodump of `database` (each collection with the _id index and its `indexes`), scanned."""
    import bson
    from bson import json_util

    from nosql_advisor.scan import ScanOptions, scan_sources

    folder = tmp_path / "dump" / database
    folder.mkdir(parents=True, exist_ok=True)
    for name, documents in collections.items():
        (folder / f"{name}.bson").write_bytes(b"".join(bson.encode(d) for d in documents))
        metadata = {"indexes": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}] + (indexes or {}).get(name, []),
                    "options": {}}
        (folder / f"{name}.metadata.json").write_text(json_util.dumps(metadata))
    return scan_sources([str(tmp_path / "dump")], ScanOptions())
