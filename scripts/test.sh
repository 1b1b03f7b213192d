#!/usr/bin/env bash
# Runs the template's tests, in tiers:
#   package  the runtime package's own suite (packages/dramatiq_runtime/tests), no bake:
#            real Redis and PostgreSQL, real workers
#   bakes    bakes every option set, checks each, runs the generated projects' suites
#   engine   the Docker engine stacks (dev and prod compose, faults)
#   all      (default) the three, one after another
# Extra arguments go to pytest: `bash scripts/test.sh bakes -k cruft`.
# Creates a venv with everything needed on first use (Python 3.11+ and network to PyPI).
# The venv lives outside the repository: cookiecutter's pre_prompt hook copies the whole
# template folder on every bake, so a venv inside it would make each bake take ~20 s.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tier=all
case "${1:-}" in package | bakes | engine | all) tier=$1 && shift ;; esac
venv=${VENV:-"${XDG_CACHE_HOME:-$HOME/.cache}/cookiecutter-django-dramatiq/venv"}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import uv" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip uv
fi
"$venv/bin/python" -m uv pip install --quiet --python "$venv/bin/python" -r requirements-dev.txt
export PATH="$venv/bin:$PATH"
package="$root/{{cookiecutter.project_slug}}/packages/dramatiq_runtime"
# The runtime package, as `pip install packages/dramatiq_runtime` installs it in a project:
# bakes copy it verbatim, so their checks and suites run it from here (reinstalled each run).
"$venv/bin/python" -m pip install --quiet --no-deps --force-reinstall --no-build-isolation \
  "$package"

run_package() {
  # Run from the template's own copy: no bytecode or cache files written into it (every
  # bake copies the folder whole). Its tests mostly wait on real workers: two pytest-xdist
  # workers halve the time (tests that share a module's worker stay together: loadgroup).
  (cd "$package" && PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$package:$package/tests/project" \
    "$venv/bin/python" -m pytest -p no:cacheprovider -n "${PYTEST_WORKERS:-2}" \
    --dist loadgroup --maxschedchunk 1 --durations=15 "$@" tests)
}
run_template() {
  "$venv/bin/python" -m pytest -n "${PYTEST_WORKERS:-2}" --maxschedchunk 1 --durations=25 "$@" tests
}

case "$tier" in
  package) run_package "$@" ;;
  bakes) run_template -m "not engine" "$@" ;;
  engine) run_template -m engine "$@" ;;
  all) run_package "$@" && run_template "$@" ;;
esac
