"""What the template costs: the generated project against bare Dramatiq and Celery, one run.

Every figure is a ratio to its baseline measured in the same run, on the same Redis:
no-op throughput, enqueue latency, start-up, bake time and worker memory. Results go to
``--out`` as JSON, a markdown table and a PNG chart. ``run.sh`` bakes and installs the
default project and calls this; the smoke test calls it directly with tiny counts.
"""

import argparse
import functools
import importlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import redis
from dramatiq_runtime.testing import stop_process

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent
PYTHON = sys.executable


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a baked project")
    parser.add_argument("--tasks", type=int, default=20_000, help="no-op tasks per run")
    parser.add_argument("--sends", type=int, default=2_000, help="timed send() calls")
    parser.add_argument("--startups", type=int, default=20, help="fresh processes")
    parser.add_argument("--bakes", type=int, default=5, help="bakes per variant")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
    )
    parser.add_argument(
        "--postgres", default="postgres://postgres@127.0.0.1:5432", help="server URL"
    )
    parser.add_argument("--celery-db", type=int, default=14, help="Celery's Redis DB")
    parser.add_argument(
        "--only",
        choices=["all", "workers", "startup"],
        default="all",
        help="workers: only worker start to first task and memory per worker process, "
        "generated vs bare, median of --worker-runs (what pythons.sh runs per Python); "
        "startup: only the settings, config and django.setup() timings",
    )
    parser.add_argument("--worker-runs", type=int, default=5, help="runs per side (--only workers)")
    return parser.parse_args(argv)


def otlp_sink():
    """A real OTLP/HTTP endpoint that accepts every batch and keeps nothing: the traced
    runs pay for making and exporting spans, not for a collector's work."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Bench:
    def __init__(self, args):
        self.args = args
        self.project = args.project.resolve()
        self.slug = next(self.project.glob("*/config/__init__.py")).parent.parent.name
        self.database = f"bench_{self.slug}_{os.getpid()}"  # two runs never share one
        self.env = {
            **os.environ,
            "DJANGO_ENV": "development",
            "DJANGO_SETTINGS_MODULE": f"{self.slug}.settings",
            "REDIS_URL": args.redis_url,
            "DATABASE_URL": f"{args.postgres}/{self.database}",
            "DRAMATIQ_PROMETHEUS_ENABLED": "false",
            "PYTHONPATH": os.pathsep.join([str(self.project), str(HERE)]),
        }
        self.logs = Path(tempfile.mkdtemp(prefix="bench-logs-"))
        self.sink = otlp_sink()
        sys.path.insert(0, str(self.project))
        self.load_config = importlib.import_module(f"{self.slug}.config").load_config

    # ----------------------------------------------------------------- helpers
    def traced(self, ratio):
        """The environment of a project with tracing on at ``ratio``, exporting to the sink."""
        return {
            "DRAMATIQ_ADMIN_ENABLED": "false",
            "TRACING_ENABLED": "true",
            "TRACING_SAMPLE_RATIO": str(ratio),
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.sink.server_port}",
        }

    def config(self, **env):
        """The project's own config models, as a worker with ``env`` would load them."""
        return self.load_config(environ={**self.env, **env})

    def python(self, code, env=None, cwd=None):
        out = subprocess.run(
            [PYTHON, "-c", code],
            cwd=cwd or self.project,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            raise RuntimeError(f"{code[:60]}...\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def fresh_database(self):
        import psycopg

        self.sqlite_url = f"sqlite:///{self.logs / 'tracking.sqlite3'}"
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "-v", "0"],
            cwd=self.project,
            env={**self.env, "DATABASE_URL": self.sqlite_url},
            check=True,
        )

        with psycopg.connect(f"{self.args.postgres}/postgres", autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{self.database}"')
            db.execute(f'CREATE DATABASE "{self.database}"')
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "-v", "0"],
            cwd=self.project,
            env=self.env,
            check=True,
        )

    def drop_database(self):
        import psycopg

        with psycopg.connect(f"{self.args.postgres}/postgres", autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    # -------------------------------------------------------------- throughput
    def drain(self, name, commands, env, outstanding, total, sample=None):
        """Start ``commands``, time the queue from first to last acknowledgement.

        ``sample``, called every 0.25 s while tasks complete, returns a number (the age of
        the newest "done" row: how late the admin shows a state change).
        """
        procs, samples, sampled = [], [], 0.0
        started = time.perf_counter()
        for index, command in enumerate(commands):
            with open(self.logs / f"{name}-{index}.log", "w") as log:
                procs.append(
                    subprocess.Popen(
                        command,
                        cwd=self.project,
                        env={**self.env, **env},
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        first, memory = None, None
        try:
            while True:
                left = outstanding()
                now = time.perf_counter()
                if first is None and left < total:
                    first = (now, left)
                if memory is None and (left < total / 2 or left == 0):
                    # Halfway, or at the end of a run too short to be seen halfway: the
                    # processes are alive until the finally below stops them.
                    memory = worker_memory(procs)
                if left == 0:
                    break
                if sample and first and now - sampled >= 0.25 and left > total * 0.05:
                    sampled = now
                    samples.append(sample(now - first[0]))
                dead = [p for p in procs if p.poll() is not None]
                if dead or now - started > 1800:
                    log = (self.logs / f"{name}-0.log").read_text()[-3000:]
                    raise RuntimeError(f"{name}: workers stopped or stalled\n{log}")
                time.sleep(0.002)
        finally:
            for proc in procs:
                stop_process(proc, timeout=30)
        elapsed = now - first[0]
        result = {
            "tasks_per_s": first[1] / elapsed if elapsed else float("inf"),
            "start_to_first_task_s": first[0] - started,
            **memory,
        }
        if samples:
            result["tracking_lag_s"] = {
                "p50": percentile(samples, 50),
                "max": max(samples),
                "samples": len(samples),
            }
        return result

    def dramatiq_run(self, name, command, processes, threads, sample=None, prefill=None, **env):
        """``prefill``: Python that enqueues the run's tasks (default: no-op messages)."""
        namespace = f"bench-{uuid.uuid4().hex[:8]}"
        env = {**env, "TASKS_NAMESPACE": namespace}
        broker_url = self.config(**env).tasks.broker_url
        client = redis.Redis.from_url(broker_url)
        if prefill:
            self.python(prefill, env)
        else:
            prefill_dramatiq(broker_url, namespace, self.args.tasks)
        flags = ["--processes", str(processes), "--threads", str(threads)]
        try:
            return self.drain(
                f"{name}-{processes}x{threads}",
                [[*command, *flags]],
                env,
                lambda: client.hlen(f"{namespace}:default.msgs"),
                self.args.tasks,
                sample,
            )
        finally:
            delete_keys(client, f"{namespace}*")  # and the @task results, <namespace>-tasks

    def django_task_run(self, run, worker, **env):
        """No-op ``@task`` functions, enqueued through Django's API before the run."""
        prefill = (
            "import django; django.setup()\n"
            "from dramatiq_runtime.probes import noop_task\n"
            f"for _ in range({self.args.tasks}): noop_task.enqueue()\n"
        )
        return run("django-task", worker, prefill=prefill, **env)

    def sent_run(self, run, name, worker, **env):
        """No-op messages sent through the project's broker (its middleware, tracing's
        included) before the run, instead of written to Redis directly."""
        prefill = (
            "import django; django.setup()\n"
            "from dramatiq_runtime.probes import noop\n"
            f"for _ in range({self.args.tasks}): noop.send()\n"
        )
        return run(name, worker, prefill=prefill, **env)

    def celery_run(self, processes, threads):
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        url = redis_db(self.args.redis_url, self.args.celery_db)
        env = {"BENCH_CELERY_URL": url, "BENCH_CELERY_QUEUE": queue}
        client = redis.Redis.from_url(url)
        self.python(
            f"import celery_app\nfor _ in range({self.args.tasks}): celery_app.noop.apply_async()",
            env,
        )
        command = [
            PYTHON, "-m", "celery", "-A", "celery_app", "worker", "--pool", "threads",
            "--concurrency", str(threads), "--queues", queue, "--loglevel", "WARNING",
            "--without-heartbeat", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        commands = [[*command, "-n", f"{queue}-{i}@%h"] for i in range(processes)]
        try:
            return self.drain(
                f"celery-{processes}x{threads}",
                commands,
                env,
                lambda: client.llen(queue) + client.hlen("unacked"),
                self.args.tasks,
            )
        finally:
            client.delete(queue, f"_kombu.binding.{queue}")

    def throughput(self):
        worker = [PYTHON, "manage.py", "worker"]
        bare = [PYTHON, "-m", "dramatiq", "bare_app"]
        bare_env = {"BENCH_SLUG": self.slug, "DRAMATIQ_LIVENESS_FILE": ""}
        tracked = {"DRAMATIQ_ADMIN_ENABLED": "true"}
        sqlite = {**tracked, "DATABASE_URL": self.sqlite_url}
        # django_dramatiq's AdminMiddleware, the tracker ours replaces, for comparison.
        old = {**tracked, "TRACKING_TRACKER": "django_dramatiq"}
        results = {}
        for processes, threads in ((1, 8), (2, 8)):
            shape = f"{processes}x{threads}"
            run = functools.partial(self.dramatiq_run, processes=processes, threads=threads)
            results[shape] = {
                "bare": run("bare", bare, **bare_env),
                "admin_off": run("generated", worker, DRAMATIQ_ADMIN_ENABLED="false"),
                "django_task": self.django_task_run(run, worker, DRAMATIQ_ADMIN_ENABLED="false"),
                "tracking_pg": self.tracking_lag_run(run, worker, **tracked),
                "tracking_sqlite": run("tracking-sqlite", worker, **sqlite),
                "admin_on": run("admin", worker, **old),
                "celery": self.celery_run(processes, threads),
                # Tracing off and on, each fed by sends (the sender decides the sampling).
                "sent_off": self.sent_run(run, "sent", worker, DRAMATIQ_ADMIN_ENABLED="false"),
                "tracing_1": self.sent_run(run, "traced-1", worker, **self.traced(0.01)),
                "tracing_100": self.sent_run(run, "traced-100", worker, **self.traced(1.0)),
            }
        return results

    def tracking_lag_run(self, run, worker, **env):
        """A tracked run whose lag is read from its own rows: the table starts empty."""
        import psycopg

        with psycopg.connect(f"{self.args.postgres}/{self.database}") as db:
            db.execute("TRUNCATE django_dramatiq_task")
        return run("tracking-pg", worker, sample=self.newest_done_age, **env)

    def newest_done_age(self, since_first_task):
        """Seconds since the newest "done" row of this run changed (the table is emptied
        before the run); with none yet, the time since the first task ran."""
        import psycopg

        with psycopg.connect(f"{self.args.postgres}/{self.database}") as db:
            (age,) = db.execute(
                "SELECT extract(epoch FROM clock_timestamp() - max(updated_at)) "
                "FROM django_dramatiq_task WHERE status = 'done'"
            ).fetchone()
        return since_first_task if age is None else float(age)

    # ----------------------------------------------------------------- enqueue
    def enqueue(self):
        def timing(call="noop.send()"):
            return (
                "import json, time\n"
                "samples = []\n"
                f"for i in range({self.args.sends} + 100):\n"
                f"    t = time.perf_counter_ns(); {call}; t = time.perf_counter_ns() - t\n"
                "    if i >= 100: samples.append(t / 1e6)\n"  # the first 100 warm up
                "print(json.dumps(samples))\n"
            )

        django = "import django; django.setup()\n"
        probe = "from dramatiq_runtime.probes import noop, noop_task\n"
        variants = {
            "bare": (
                "from bare_app import noop\n",
                {"BENCH_SLUG": self.slug, "DRAMATIQ_LIVENESS_FILE": ""},
            ),
            "admin_off": (django + probe, {"DRAMATIQ_ADMIN_ENABLED": "false"}),
            "django_task": (
                django + probe,
                {"DRAMATIQ_ADMIN_ENABLED": "false"},
                "noop_task.enqueue()",
            ),
            "tracking_pg": (django + probe, {"DRAMATIQ_ADMIN_ENABLED": "true"}),
            "admin_on": (
                django + probe,
                {"DRAMATIQ_ADMIN_ENABLED": "true", "TRACKING_TRACKER": "django_dramatiq"},
            ),
            "tracing_1": (django + probe, self.traced(0.01)),
            "tracing_100": (django + probe, self.traced(1.0)),
        }
        results = {}
        for name, (setup, env, *call) in variants.items():
            namespace = f"bench-{uuid.uuid4().hex[:8]}"
            env = {**env, "TASKS_NAMESPACE": namespace}
            try:
                samples = json.loads(self.python(setup + timing(*call), env))
            finally:
                client = redis.Redis.from_url(self.config(**env).tasks.broker_url)
                delete_keys(client, f"{namespace}*")
            results[name] = {"p50_ms": percentile(samples, 50), "p99_ms": percentile(samples, 99)}
        return results

    # ---------------------------------------------------------------- start-up
    def startup(self):
        """Fresh processes, median: settings alone, the config models, a whole setup."""
        plain_root = Path(tempfile.mkdtemp(prefix="bench-plain-"))
        subprocess.run(
            [PYTHON, "-m", "django", "startproject", "plain", str(plain_root)], check=True
        )
        # startproject plus django_dramatiq wired by hand, as the README of django_dramatiq
        # shows: the same broker and middleware, written as a dict, and the same database
        # (its driver is imported as the apps load).
        config = self.config()
        # GroupCallbacks needs a backend argument: a path alone cannot configure it.
        by_path = [
            path
            for path in importlib.import_module("dramatiq_runtime.config.middleware").switched(
                config.tasks.dramatiq
            )
            if not path.endswith(".GroupCallbacks")
        ]
        handwired = plain_root / "plain" / "handwired.py"
        handwired.write_text(
            "from .settings import *  # noqa: F403\n"
            "import dj_database_url\n"
            f"DATABASES = {{'default': dj_database_url.parse({config.database_url!r})}}\n"
            "INSTALLED_APPS = [*INSTALLED_APPS, 'django_dramatiq']  # noqa: F405\n"
            "DRAMATIQ_BROKER = {\n"
            "    'BROKER': 'dramatiq.brokers.redis.RedisBroker',\n"
            f"    'OPTIONS': {{'url': {config.tasks.broker_url!r}}},\n"
            f"    'MIDDLEWARE': {by_path!r},\n"
            "}\n"
        )
        timed = "import time; t = time.perf_counter()\n{}\nprint(time.perf_counter() - t)\n"
        settings_import = "import importlib, sys, time\nimport django\n" + timed.format(
            "importlib.import_module(sys.argv[1])"  # both import Django; settings timed
        )
        setup = timed.format("import django; django.setup()")
        config_models = timed.format(f"from {self.slug}.config import load_config; load_config()")
        pydantic_floor = timed.format(
            "from pydantic import BaseModel\nclass Probe(BaseModel):\n    x: int = 0\nProbe(x=1)"
        )

        def median_of(code, *argv, cwd=None, env=None):
            runs = []
            for _ in range(self.args.startups):
                out = subprocess.run(
                    [PYTHON, "-c", code, *argv],
                    cwd=cwd or self.project,
                    env={**self.env, **(env or {})},
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(float(out.stdout.splitlines()[-1]) * 1000)
            return statistics.median(runs)

        plain = {"PYTHONPATH": str(plain_root), "DJANGO_SETTINGS_MODULE": "plain.settings"}
        wired = {**plain, "DJANGO_SETTINGS_MODULE": "plain.handwired"}
        results = {
            "settings_ms": median_of(settings_import, f"{self.slug}.settings"),
            "plain_settings_ms": median_of(
                settings_import, "plain.settings", cwd=plain_root, env=plain
            ),
            "config_models_ms": median_of(config_models),
            "pydantic_floor_ms": median_of(pydantic_floor),
            "django_setup_ms": median_of(setup),
            "handwired_setup_ms": median_of(setup, cwd=plain_root, env=wired),
        }
        shutil.rmtree(plain_root, ignore_errors=True)
        return results

    # -------------------------------------------------------------------- bake
    def bake(self):
        def median_bake(*flags):
            runs = []
            for _ in range(self.args.bakes):
                out = Path(tempfile.mkdtemp(prefix="bench-bake-"))
                started = time.perf_counter()
                subprocess.run(
                    [
                        PYTHON,
                        "-m",
                        "cookiecutter",
                        str(TEMPLATE),
                        "--no-input",
                        "-o",
                        str(out),
                        *flags,
                    ],
                    check=True,
                    capture_output=True,
                )
                runs.append(time.perf_counter() - started)
                shutil.rmtree(out, ignore_errors=True)
            return statistics.median(runs)

        return {"with_hooks_s": median_bake(), "hooks_off_s": median_bake("--accept-hooks", "no")}

    # ------------------------------------------------------------------ workers
    def workers(self):
        """Worker start to first task and RSS per worker process, 1x8, each the median of
        ``--worker-runs`` fresh workers: the measures that change with the Python."""
        worker = [PYTHON, "manage.py", "worker"]
        bare = [PYTHON, "-m", "dramatiq", "bare_app"]
        bare_env = {"BENCH_SLUG": self.slug, "DRAMATIQ_LIVENESS_FILE": ""}
        sides = {
            "bare": (bare, bare_env),
            "generated": (worker, {"DRAMATIQ_ADMIN_ENABLED": "false"}),
        }
        results = {}
        for name, (command, env) in sides.items():
            runs = [
                self.dramatiq_run(name, command, processes=1, threads=8, **env)
                for _ in range(self.args.worker_runs)
            ]
            results[name] = {
                measure: statistics.median(run[measure] for run in runs)
                for measure, _ in WORKER_MEASURES
            }
        return results

    # --------------------------------------------------------------------- run
    def run(self):
        if self.args.only == "startup":  # no worker, no database
            return {"machine": machine(), "startup": self.startup()}
        self.fresh_database()
        if self.args.only == "workers":
            try:
                return {"machine": machine(), "workers": self.workers()}
            finally:
                self.drop_database()
        try:
            results = {
                "machine": machine(),
                "tasks": self.args.tasks,
                "throughput": self.throughput(),
                "enqueue": self.enqueue(),
                "startup": self.startup(),
                "bake": self.bake(),
            }
        finally:
            self.drop_database()
        return results


# --------------------------------------------------------------------- helpers
def prefill_dramatiq(url, namespace, count):
    """``count`` no-op messages, enqueued before any worker starts."""
    from dramatiq import Message
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=url, namespace=namespace, middleware=[])
    for _ in range(count):
        broker.enqueue(
            Message(queue_name="default", actor_name="noop", args=(), kwargs={}, options={})
        )
    broker.close()


def redis_db(url, db):
    return re.sub(r"(/\d+)?/?$", f"/{db}", url, count=1)


def delete_keys(client, pattern):
    for key in client.scan_iter(pattern, count=1000):
        client.delete(key)


def percentile(samples, q):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def children(pid):
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def rss_mb(pid):
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return int(re.search(r"VmRSS:\s+(\d+)", status)[1]) / 1024


def task_processes(pid):
    """The processes under ``pid`` that run tasks: its leaves. A forking master's children
    (fork, Python < 3.14), a forkserver's (3.14: the master starts the forkserver, which
    starts them); never the forkserver itself, nor multiprocessing's resource tracker."""
    below = children(pid)
    if not below:
        return [pid]
    leaves = []
    for child in below:
        if "resource_tracker" not in cmdline(child):
            leaves += task_processes(child)
    return leaves


def cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def smaps_mb(pid):
    """USS (private pages) and PSS (shared pages split among their users) in MB, from
    /proc/<pid>/smaps_rollup: what a process adds, which RSS overstates for forked ones."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    kb = {key: int(value) for key, value in re.findall(r"^(\w+):\s+(\d+) kB", text, re.M)}
    return (kb["Private_Clean"] + kb["Private_Dirty"]) / 1024, kb["Pss"] / 1024


def worker_memory(procs):
    """Mean RSS, USS and PSS of the processes that run tasks."""
    pids = [pid for proc in procs for pid in task_processes(proc.pid)]
    rss = [v for v in map(rss_mb, pids) if v is not None]
    smaps = [v for v in map(smaps_mb, pids) if v is not None]
    mean = statistics.mean
    return {
        "rss_mb_per_worker_process": mean(rss) if rss else None,
        "uss_mb_per_worker_process": mean(u for u, _ in smaps) if smaps else None,
        "pss_mb_per_worker_process": mean(p for _, p in smaps) if smaps else None,
    }


def installed(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:  # Celery: only where the full run needs it
        return None


def machine():
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 1024 / 1024, 1),
        "python": platform.python_version(),
        # The engine's containers say so (pythons.sh): a number means nothing without it.
        "where": os.environ.get("BENCH_WHERE", "native"),
        "packages": {
            name: installed(name)
            for name in ("django", "dramatiq", "django-dramatiq", "pydantic", "redis", "celery")
        },
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --------------------------------------------------------------------- reports
def rows(results):
    """(measure, ours, baseline, ratio) for the table; ratio = ours / baseline."""
    table = []
    for shape, runs in results["throughput"].items():
        bare = runs["bare"]["tasks_per_s"]
        for name, label in (
            ("admin_off", "generated worker, admin off"),
            ("tracking_pg", "generated worker, tracking on (PostgreSQL)"),
            ("tracking_sqlite", "generated worker, tracking on (SQLite)"),
            ("admin_on", "old AdminMiddleware tracking (PostgreSQL)"),
            ("celery", "Celery worker (threads pool)"),
        ):
            ours = runs[name]["tasks_per_s"]
            table.append((f"no-op tasks/s, {shape}: {label} vs bare Dramatiq", ours, bare))
        table.append(
            (
                f"no-op tasks/s, {shape}: @task functions vs Dramatiq actors (admin off)",
                runs["django_task"]["tasks_per_s"],
                runs["admin_off"]["tasks_per_s"],
            )
        )
        table.append(
            (
                f"no-op tasks/s, {shape}: generated worker, admin off vs Celery",
                runs["admin_off"]["tasks_per_s"],
                runs["celery"]["tasks_per_s"],
            )
        )
    for shape, runs in results["throughput"].items():
        for name, label in (("tracing_1", "1 %"), ("tracing_100", "100 %")):
            table.append(
                (
                    f"no-op tasks/s, {shape}: tracing on at {label} vs off (both sent)",
                    runs[name]["tasks_per_s"],
                    runs["sent_off"]["tasks_per_s"],
                )
            )
    for shape, runs in results["throughput"].items():
        lag = runs["tracking_pg"].get("tracking_lag_s")
        if lag:  # no baseline: the target is an absolute 2 s
            table.append(
                (
                    f"tracking lag s (max of {lag['samples']}), {shape}: newest done row",
                    lag["max"],
                    None,
                )
            )
    enqueue = results["enqueue"]
    for name, label in (
        ("admin_off", "admin off"),
        ("tracking_pg", "tracking on"),
        ("admin_on", "old AdminMiddleware"),
    ):
        for q in ("p50_ms", "p99_ms"):
            table.append(
                (
                    f"send() {q[:3]} ms from Django, {label} vs bare",
                    enqueue[name][q],
                    enqueue["bare"][q],
                )
            )
    for name, label in (("tracing_1", "1 %"), ("tracing_100", "100 %")):
        table.append(
            (
                f"send() p50 ms from Django, tracing on at {label} vs off (admin off)",
                enqueue[name]["p50_ms"],
                enqueue["admin_off"]["p50_ms"],
            )
        )
    for q in ("p50_ms", "p99_ms"):
        table.append(
            (
                f"{q[:3]} ms from Django, admin off: task.enqueue() vs actor.send()",
                enqueue["django_task"][q],
                enqueue["admin_off"][q],
            )
        )
    startup = results["startup"]
    table += [
        (
            "settings import ms (median) vs startproject settings",
            startup["settings_ms"],
            startup["plain_settings_ms"],
        ),
        (
            "config models (import + load_config()) ms vs pydantic alone (one model)",
            startup["config_models_ms"],
            startup["pydantic_floor_ms"],
        ),
        (
            "django.setup() ms vs startproject + django_dramatiq wired by hand",
            startup["django_setup_ms"],
            startup["handwired_setup_ms"],
        ),
    ]
    one = results["throughput"]["1x8"]
    table.append(
        (
            "worker start to first task s, generated vs bare",
            one["admin_off"]["start_to_first_task_s"],
            one["bare"]["start_to_first_task_s"],
        )
    )
    table.append(
        (
            "bake s (median), post-gen validation vs hooks off",
            results["bake"]["with_hooks_s"],
            results["bake"]["hooks_off_s"],
        )
    )
    for name, label in (("admin_off", "generated"), ("celery", "Celery")):
        for kind in ("rss", "uss", "pss"):
            table.append(
                (
                    f"{kind.upper()} MB per worker process, 1x8: {label} vs bare",
                    one[name][f"{kind}_mb_per_worker_process"],
                    one["bare"][f"{kind}_mb_per_worker_process"],
                )
            )
    return table  # fmt: skip


def markdown(results):
    m = results["machine"]
    lines = [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        f"Python {m['python']}; "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + f"; {results['tasks']:,} no-op tasks per throughput run.",
        "",
        "| measure | ours | baseline | ratio |",
        "|---|---:|---:|---:|",
    ]
    for measure, ours, base in rows(results):
        ratio = f"{ours / base:.2f}x" if base else ""
        lines.append(f"| {measure} | {fmt(ours)} | {fmt(base)} | {ratio} |")
    return "\n".join(lines) + "\n"


def fmt(value):
    if value is None:
        return ""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [("admin_off", "admin off"), ("tracking_pg", "tracking PG"),
             ("tracking_sqlite", "tracking SQLite"), ("admin_on", "AdminMiddleware"),
             ("celery", "Celery")]  # fmt: skip
    shapes = list(results["throughput"])
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(shapes)
    for i, shape in enumerate(shapes):
        runs = results["throughput"][shape]
        ratios = [runs[n]["tasks_per_s"] / runs["bare"]["tasks_per_s"] for n, _ in names]
        bars = ax.bar([x + i * width for x in range(len(names))], ratios, width, label=shape)
        ax.bar_label(bars, fmt="%.2fx")
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="bare Dramatiq")
    ax.set_xticks([x + width * (len(shapes) - 1) / 2 for x in range(len(names))])
    ax.set_xticklabels([label for _, label in names])
    ax.set_ylabel("no-op throughput / bare Dramatiq")
    ax.set_title("Throughput relative to bare Dramatiq (same Redis, same run)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


WORKER_MEASURES = (
    ("start_to_first_task_s", "worker start to first task s"),
    ("rss_mb_per_worker_process", "RSS MB per worker process"),
    ("uss_mb_per_worker_process", "USS MB (unique) per worker process"),
    ("pss_mb_per_worker_process", "PSS MB per worker process"),
)


def python_rows(by_python):
    """(measure, ours, baseline) per Python, and each Python against the first one."""
    table = []
    first, *others = by_python
    for version, results in by_python.items():
        where = results["machine"]["where"]
        sides = results["workers"]
        for measure, label in WORKER_MEASURES:
            table.append(
                (
                    f"{label}, Python {version} ({where}): generated vs bare",
                    sides["generated"][measure],
                    sides["bare"][measure],
                )
            )
    for version in others:
        for measure, label in WORKER_MEASURES:
            table.append(
                (
                    f"{label}, generated: Python {version} vs {first}",
                    by_python[version]["workers"]["generated"][measure],
                    by_python[first]["workers"]["generated"][measure],
                )
            )
    return table


def python_markdown(by_python):
    lines = []
    for results in by_python.values():
        m = results["machine"]
        packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
        lines.append(f"- Python {m['python']} ({m['where']}), {m['date']}: {packages}")
    lines += ["", "| measure | ours | baseline | ratio |", "|---|---:|---:|---:|"]
    for measure, ours, base in python_rows(by_python):
        lines.append(f"| {measure} | {fmt(ours)} | {fmt(base)} | {ours / base:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    results = Bench(args).run()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only != "all":
        (args.out / f"{args.only}.json").write_text(json.dumps(results, indent=2) + "\n")
        print(json.dumps(results[args.only]))
        return
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results))
    chart(results, args.out / "throughput.png")
    print(markdown(results))


if __name__ == "__main__":
    main()
