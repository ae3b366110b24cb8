# Shared by scripts/demo, scripts/test and scripts/bench: make .venv when missing and install
# the project into it with the extras asked for. Needs only Python 3.11+ and the package registries.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

ensure_venv() {  # ensure_venv EXTRAS (e.g. "test" or "demo")
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python 3.11 or newer is needed (found: $("$python" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
    exit 2
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "creating .venv" >&2
    "$python" -m venv .venv
  fi
  local stamp=".venv/.installed-$1"
  local changed=""  # the C core is built at install time: a newer source means reinstall
  [ -f "$stamp" ] && changed="$(find pyproject.toml setup.py nosql_advisor/native -newer "$stamp" -print -quit 2>/dev/null)"
  if [ ! -f "$stamp" ] || [ -n "$changed" ]; then
    echo "installing nosql-advisor[$1] into .venv" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$1]"
    touch "$stamp"
  fi
}
