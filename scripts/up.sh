#!/usr/bin/env bash
# The main job: bake the default project and bring it up natively (no Docker):
# install it, create its PostgreSQL database, migrate, check, and serve it on :8000.
#   bash scripts/up.sh            # stays up until Ctrl-C
#   bash scripts/up.sh --smoke    # checks that it answers, then stops (used by the tests)
# Answers may follow: bash scripts/up.sh database=sqlite task_queues=default,mail
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
smoke=0
answers=()
for arg in "$@"; do
  if [ "$arg" == "--smoke" ]; then smoke=1; else answers+=("$arg"); fi
done
# Outside the repository: cookiecutter copies the whole template folder on every bake.
demo=${DEMO_DIR:-"${TMPDIR:-/tmp}/cookiecutter-django-dramatiq-demo"}
port=${PORT:-8000}
python=${PYTHON:-python3}

rm -rf "$demo" && mkdir -p "$demo"
"$python" -m venv "$demo/venv"
"$demo/venv/bin/python" -m pip install --quiet uv
uv=("$demo/venv/bin/python" -m uv)
"${uv[@]}" pip install --quiet --python "$demo/venv/bin/python" cookiecutter pydantic
"$demo/venv/bin/python" -m cookiecutter "$root" --no-input -o "$demo" "${answers[@]}"
project=$(find "$demo" -mindepth 2 -maxdepth 2 -name manage.py -printf '%h\n' | head -n 1)
slug=$(basename "$project")
"${uv[@]}" pip install --quiet --python "$demo/venv/bin/python" -e "$project"
cd "$project"
py="$demo/venv/bin/python"

export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
database_url=$("$py" -c "from $slug.config import load_config; print(load_config().database_url)")
if [[ "$database_url" == postgres* ]]; then
  export DATABASE_URL=${DATABASE_URL:-${database_url/@localhost:/@127.0.0.1:}}
  "$py" - <<PY
import psycopg
from urllib.parse import urlsplit
url = urlsplit("$DATABASE_URL")
admin = url._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
with psycopg.connect(admin, autocommit=True) as conn:
    name = url.path.strip("/")
    if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
        conn.execute(f'create database "{name}"')
        print(f"created database {name}")
PY
fi

"$py" manage.py check
"$py" manage.py migrate --no-input
"$py" manage.py runserver "127.0.0.1:$port" --noreload &
web=$!
trap 'kill $web 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  if "$py" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/admin/login/')" 2>/dev/null; then
    echo "web is up: http://127.0.0.1:$port/admin/  (project: $project)"
    break
  fi
  sleep 0.2
done
"$py" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/admin/login/')"
if [ "$smoke" == 1 ]; then
  echo "smoke run passed"
  exit 0
fi
wait $web
