#!/usr/bin/env bash
# Smoke test of nosql-advisor as users install it: build the wheel from a clean copy of this
# checkout, install it (its dependencies from the package index) into a fresh venv, and from a
# folder that is not the checkout check that
#   - the package imported is the installed one, not this checkout;
#   - `nosql-advisor rules DM101` prints the whole rule page shipped in the wheel;
#   - `demo write` then `scan` writes report.{json,md,html,sarif}, report.json is valid against
#     schemas/report.schema.json, and the SARIF help of DM101 is that page (helpUri only with
#     --docs-url, and then absolute).
# scripts/test runs it after pytest passes; it runs alone too: scripts/wheel_smoke.sh
# Needs Python 3.11+ (PYTHON=...) and the package registries; nothing else.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
unset PYTHONPATH PYTHONHOME  # the installed wheel alone, never this checkout

work="$(mktemp -d "${TMPDIR:-/tmp}/nosql-advisor-wheel.XXXXXX")"
trap 'rm -rf "$work"' EXIT
fail() { echo "wheel smoke test FAILED: $*" >&2; exit 1; }
step() { echo "wheel smoke: $*" >&2; }

# A copy to build from: an in-tree build would leave build/ in the checkout, and a stale
# build/lib can put files into the wheel that the checkout no longer has.
step "copying the checkout to $work/src"
mkdir "$work/src"
tar -C "$ROOT" --exclude=./.venv --exclude=./.git --exclude=./build --exclude=./dist \
    --exclude='*.egg-info' --exclude=__pycache__ --exclude='*.so' --exclude=.pytest_cache --exclude=.hypothesis \
    --exclude=./out --exclude=./demo-report --exclude=./bench-work -cf - . | tar -C "$work/src" -xf -

step "creating a fresh venv"
"$PYTHON" -m venv "$work/venv"
py="$work/venv/bin/python"
pip=("$py" -m pip --quiet --disable-pip-version-check)

step "building the wheel"
"${pip[@]}" wheel --no-deps --wheel-dir "$work/dist" "$work/src" >&2
wheels=("$work"/dist/nosql_advisor-*.whl)
[ "${#wheels[@]}" -eq 1 ] && [ -f "${wheels[0]}" ] || fail "expected one wheel in $work/dist, found: ${wheels[*]}"
(cd "$work/src" && ls nosql_advisor/rules/pages/*.md) > "$work/pages.txt"
"$py" - "${wheels[0]}" "$work/pages.txt" <<'PY' || fail "the wheel lacks rule pages of the checkout"
import sys, zipfile
missing = set(open(sys.argv[2]).read().split()) - set(zipfile.ZipFile(sys.argv[1]).namelist())
for name in sorted(missing):
    print(f"not in the wheel: {name}", file=sys.stderr)
sys.exit(1 if missing else 0)
PY

"$py" - "${wheels[0]}" <<'PY' || fail "the wheel holds no native inference core (nosql_advisor/_shapecore*.so): was a C compiler there?"
import sys, zipfile
sys.exit(0 if any(n.startswith("nosql_advisor/_shapecore") for n in zipfile.ZipFile(sys.argv[1]).namelist()) else 1)
PY

step "installing $(basename "${wheels[0]}") and its dependencies"
"${pip[@]}" install "${wheels[0]}" >&2

mkdir "$work/run"
cd "$work/run"  # not the checkout: nothing can be imported from it
cli="$work/venv/bin/nosql-advisor"
[ -x "$cli" ] || fail "the wheel installed no nosql-advisor console script"
where="$("$py" -c 'import nosql_advisor; print(nosql_advisor.__file__)')"
case "$where" in
  "$work/venv/"*) ;;
  *) fail "nosql_advisor was imported from $where, not from the fresh venv" ;;
esac

step "the installed engine"
engine="$("$py" -c 'from nosql_advisor.shape.engine import engine_name; print(engine_name())')"
[ "$engine" = native ] || fail "the installed wheel runs the $engine engine, not the native core"

step "nosql-advisor rules DM101"
"$cli" rules DM101 > rules-DM101.md || fail "nosql-advisor rules DM101 exited $?"
cmp -s rules-DM101.md "$work/src/nosql_advisor/rules/pages/DM101.md" \
    || fail "nosql-advisor rules DM101 did not print the whole page nosql_advisor/rules/pages/DM101.md"

step "nosql-advisor demo write --out demo-dump"
"$cli" demo write --out demo-dump --scale 0.2 >&2 || fail "demo write exited $?"
step "nosql-advisor scan demo-dump --out report"
status=0
"$cli" scan demo-dump --out report -q >&2 || status=$?
[ "$status" -eq 0 ] || fail "scan of the demo dump exited $status (0 expected: no --fail-on, every collection read)"
step "nosql-advisor scan demo-dump --out linked --docs-url ..."
"$cli" scan demo-dump --out linked -q --docs-url https://example.org/rules/ >&2 || fail "scan --docs-url exited $?"

step "checking the report forms"
"$py" - "$work/src/schemas/report.schema.json" "$work/src/nosql_advisor/rules/pages/DM101.md" <<'PY'
import json
import sys
from pathlib import Path

import jsonschema

schema_path, page_path = sys.argv[1:3]
page = Path(page_path).read_text(encoding="utf-8")
problems = []
for form in ("json", "md", "html", "sarif"):
    if not (Path("report") / f"report.{form}").is_file():
        problems.append(f"report/report.{form} was not written")
if not problems:
    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    report = json.loads(Path("report/report.json").read_text(encoding="utf-8"))
    for error in list(validator.iter_errors(report))[:5]:
        problems.append(f"report.json at /{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}")
    if not report["collections"]:
        problems.append("report.json holds no collection")
    for folder, linked in (("report", False), ("linked", True)):
        sarif = json.loads(Path(folder, "report.sarif").read_text(encoding="utf-8"))
        rules = {rule["id"]: rule for rule in sarif["runs"][0]["tool"]["driver"]["rules"]}
        if "DM101" not in rules:
            problems.append(f"{folder}/report.sarif has no rule DM101")
            continue
        if rules["DM101"]["help"] != {"text": page, "markdown": page}:
            problems.append(f"{folder}/report.sarif: the help of DM101 is not the packaged page")
        uri = rules["DM101"].get("helpUri")
        if linked and uri != "https://example.org/rules/DM101.md":
            problems.append(f"{folder}/report.sarif: DM101 helpUri is {uri!r} with --docs-url")
        if not linked and uri is not None:
            problems.append(f"{folder}/report.sarif: DM101 has helpUri {uri!r} without --docs-url")
    if "docs/rules" in Path("report/report.md").read_text(encoding="utf-8"):
        problems.append("report.md links docs/rules, which an installed wheel does not have")
for problem in problems:
    print(f"wheel smoke test FAILED: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
# The core is optional: without a compiler the install must still succeed and run Python.
step "building a wheel with no C compiler (CC=false)"
# from a copy of its own: the first build left build/ (the compiled core) in $work/src
mkdir "$work/src-nocc"
tar -C "$work/src" --exclude=./build -cf - . | tar -C "$work/src-nocc" -xf -
CC=false "${pip[@]}" wheel --no-deps --wheel-dir "$work/dist-nocc" "$work/src-nocc" >&2 \
    || fail "building without a C compiler failed: the extension must be optional"
plain=("$work"/dist-nocc/nosql_advisor-*.whl)
"$py" - "${plain[0]}" <<'PY' || fail "the wheel built with CC=false still holds a native core"
import sys, zipfile
sys.exit(1 if any(n.startswith("nosql_advisor/_shapecore") for n in zipfile.ZipFile(sys.argv[1]).namelist()) else 0)
PY
"${pip[@]}" install --force-reinstall --no-deps "${plain[0]}" >&2
"$cli" shape demo-dump --json > shapes-nocc.json || fail "shape with the Python engine exited $?"
"$py" - shapes-nocc.json <<'PY' || fail "without a compiler the shapes do not say engine python"
import json, sys
shapes = json.load(open(sys.argv[1]))
sys.exit(0 if shapes and all(s.get("engine") == "python" for s in shapes) else 1)
PY
step "passed ($(basename "${wheels[0]}"))"
