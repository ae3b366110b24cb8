"""The rule pages ship inside the package: `nosql-advisor rules ID` prints the whole page from
wherever the package is imported (a checkout, a wheel, a zip), and no document links a page
that is not there. (scripts/wheel_smoke.sh checks the same against the built wheel.)"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

from nosql_advisor.rules import all_rules

from helpers import run_in_process

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "nosql_advisor" / "rules" / "pages"


def test_every_rule_has_its_page_in_the_package():
    assert sorted(p.stem for p in PAGES.glob("*.md")) == sorted(rule.id for rule in all_rules())
    for rule in all_rules():
        assert rule.docs() == (PAGES / f"{rule.id}.md").read_text(encoding="utf-8")


def test_the_rules_command_prints_the_whole_page(tmp_path):
    done = run_in_process("rules", "DM101", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (PAGES / "DM101.md").read_text(encoding="utf-8")


def test_the_pages_are_read_from_a_zip_import(tmp_path):
    """importlib.resources, not a path beside the source: the same page from a zipped package."""
    archive = tmp_path / "nosql_advisor.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in (ROOT / "nosql_advisor").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                zipped.write(path, path.relative_to(ROOT).as_posix())
    program = ("import sys; sys.path.insert(0, sys.argv[1]); import nosql_advisor.rules as rules; "
               "assert rules.__file__.startswith(sys.argv[1]), rules.__file__; "
               "sys.stdout.write(rules.page_text('DM702'))")
    done = subprocess.run([sys.executable, "-c", program, str(archive)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (PAGES / "DM702.md").read_text(encoding="utf-8")


def test_every_relative_link_of_the_documentation_points_at_a_file_that_exists():
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    broken = []
    for document in documents:
        for target in re.findall(r"\]\(([^)\s]+)\)", document.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:|#", target):
                continue  # absolute URLs and anchors
            if not (document.parent / target.split("#")[0]).exists():
                broken.append(f"{document.relative_to(ROOT)}: {target}")
    assert broken == []


def test_the_rules_table_of_the_docs_lists_every_registered_rule_with_its_summary():
    table = (Path(__file__).resolve().parent.parent / "docs" / "rules" / "README.md").read_text(encoding="utf-8")
    missing = [rule.id for rule in all_rules()
               if f"[{rule.id}](" not in table or rule.summary.replace("|", "/") not in table]
    assert missing == []
