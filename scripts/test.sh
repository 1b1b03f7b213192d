#!/usr/bin/env bash
# Runs every test of the template: bakes, checks each bake, and runs generated suites.
# Creates a venv with everything needed on first use (Python 3.11+ and network to PyPI).
# The venv lives outside the repository: cookiecutter's pre_prompt hook copies the whole
# template folder on every bake, so a venv inside it would make each bake take ~20 s.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=${VENV:-"${XDG_CACHE_HOME:-$HOME/.cache}/cookiecutter-django-dramatiq/venv"}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import uv" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip uv
fi
"$venv/bin/python" -m uv pip install --quiet --python "$venv/bin/python" -r requirements-dev.txt
export PATH="$venv/bin:$PATH"
exec "$venv/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" --maxschedchunk 1 --durations=25 "$@" tests
