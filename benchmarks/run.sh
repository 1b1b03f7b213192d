#!/usr/bin/env bash
# The benchmarks, in one command: bake the default project into a temporary folder, install
# it in a venv of its own (with Celery, the anchor), and measure it on this machine's Redis
# and PostgreSQL against bare Dramatiq and Celery. Results: benchmarks/results/.
#   bash benchmarks/run.sh                  # full counts (a few minutes)
#   bash benchmarks/run.sh --tasks 2000     # any bench.py flag passes through
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${BENCH_VENV:-"${XDG_CACHE_HOME:-$HOME/.cache}/cookiecutter-django-dramatiq/bench-venv"}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import uv" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip uv
fi
# Compiled as the Docker image compiles them (UV_COMPILE_BYTECODE): with
# PYTHONDONTWRITEBYTECODE set, an uncompiled venv recompiles every import on every start.
uv=("$venv/bin/python" -m uv pip install --quiet --compile-bytecode --python "$venv/bin/python")
"${uv[@]}" cookiecutter pydantic "celery[redis]>=5.4" "matplotlib>=3.8" "psycopg[binary]>=3.2"
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-project-XXXXXX")
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" -m cookiecutter "$here/.." --no-input -o "$work" >/dev/null
project=$(find "$work" -mindepth 2 -maxdepth 2 -name manage.py -printf '%h\n')
# The runtime's opentelemetry extra too: the traced runs turn tracing on through the
# environment (the default project has it off).
"${uv[@]}" -e "$project" -e "$project/packages/dramatiq_runtime[opentelemetry]"
# uv compiles only what it installs; an existing venv gets the rest compiled here, and the
# project with its runtime package (editable, so never installed) as the image compiles them.
"$venv/bin/python" -m compileall -q -j 0 "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" "$project" >/dev/null
exec "$venv/bin/python" "$here/bench.py" --project "$project" "$@"
