#!/usr/bin/env bash
# Worker start to first task and memory per worker process, per Python: the host's natively,
# each other one in the Docker engine (the default project's dev image, with the lock's
# Django for that Python), all on this machine's Redis and PostgreSQL, in one run. The
# table: benchmarks/results/pythons.md (raw figures: results/python-*/workers.json).
#   bash benchmarks/pythons.sh              # the host's Python, and 3.14 in the engine
#   bash benchmarks/pythons.sh 3.14 3.13    # the Pythons to run in the engine
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/results"
engine_pythons=("${@:-3.14}")
venv=${BENCH_VENV:-"${XDG_CACHE_HOME:-$HOME/.cache}/cookiecutter-django-dramatiq/bench-venv"}
native=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
bash "$here/run.sh" --only workers --tasks 4000 --out "$out/python-$native"
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-pythons-XXXXXX")
trap 'rm -rf "$work"' EXIT
files=("$out/python-$native/workers.json")
for version in "${engine_pythons[@]}"; do
  "$venv/bin/python" -m cookiecutter "$here/.." --no-input -o "$work/$version" \
    python_version="$version" >/dev/null
  project=$(find "$work/$version" -mindepth 2 -maxdepth 2 -name manage.py -printf '%h\n')
  image="bench-python-$version"
  docker build -q --target dev -t "$image" "$project" >/dev/null
  # The host's network: the same Redis and PostgreSQL as the native run. As root: the
  # results folder is the host's. The mounted project compiled first, as run.sh does.
  docker run --rm --network host --user 0 -e BENCH_WHERE=engine \
    -v "$project:/app" -v "$here:/bench" -w /app "$image" \
    sh -c 'python -m compileall -q /app >/dev/null && exec python /bench/bench.py "$@"' - \
    --project /app --only workers --tasks 4000 --out "/bench/results/python-$version"
  docker image rm -f "$image" >/dev/null
  files+=("$out/python-$version/workers.json")
done
"$venv/bin/python" "$here/pythons.py" "${files[@]}" > "$out/pythons.md"
cat "$out/pythons.md"
