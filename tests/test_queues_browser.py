"""The admin's Queues page in a real browser: log in, read the counts, requeue dead letters
and watch a real worker run them. Debian's Chromium driven by Playwright.

Required where CI asks (``REQUIRE_BROWSER=1``: no browser is then a failure); skipped on a
machine without Chromium or Playwright otherwise.
"""

import json
import os
import shutil
import signal
import subprocess
import uuid

import psycopg
import pytest
import redis

from conftest import FIGURES, PYTHON, free_port, run, wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As the machine's notes advise: no background networking on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "browser-test-password-1"
SCREENSHOT = FIGURES.with_name("queues-page.png")


def browser_problem() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"playwright: {exc}"
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM}"
    return None


@pytest.fixture
def playwright_page(tmp_path):
    problem = browser_problem()
    if problem and os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {problem}")
    if problem:
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1280, "height": 800})
        browser.close()


@pytest.fixture
def database():
    name = f"browser_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def start(project, args, env, log):
    return subprocess.Popen(
        [PYTHON, "manage.py", *args],
        cwd=project,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_queues_page_requeues_dead_letters_in_a_browser(bake, database, playwright_page, tmp_path):
    project = bake(project_name="Browser Shop", database="postgresql", admin_enabled=True)
    namespace = f"browser-{uuid.uuid4().hex[:8]}"
    env = {
        "DJANGO_ENV": "development",
        "DATABASE_URL": database,
        "TASKS_NAMESPACE": namespace,
        "CACHE_KEY_PREFIX": f"{namespace}-cache",
        "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
    }

    def manage(*args):
        return run([PYTHON, "manage.py", *args], cwd=project, env=env, timeout=120)

    manage("migrate", "--noinput")
    manage("createsuperuser", "--noinput", "--username", "ops", "--email", "ops@x.org")
    # One message that fails its only try: a dead letter on "default".
    code = (
        "import json; from dramatiq_runtime.probes import send_records; "
        "print(json.dumps(send_records(1, fail=1, options={'max_retries': 0})))"
    )
    run_id, ids = json.loads(manage("shell", "-c", code).stdout.strip().splitlines()[-1])
    port = free_port()
    broker = redis.Redis(db=1)
    with (tmp_path / "server.log").open("w") as log:
        web = start(project, ["runserver", "--noreload", f"127.0.0.1:{port}"], env, log)
        worker = start(project, ["worker", "--processes", "1", "--threads", "2"], env, log)
        try:
            wait_until(
                lambda: broker.zcard(f"{namespace}:default.XQ") == 1,
                60,
                "the message dead-lettered by the worker",
            )
            page = playwright_page
            page.goto(f"http://127.0.0.1:{port}/admin/login/?next=/admin/queues/")
            page.fill("#id_username", "ops")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_selector("table#queues")
            default = page.locator('tr[data-queue="default"]')
            assert default.locator("td.dead").inner_text() == "1"
            page.wait_for_selector("table#workers tr.alive")
            queues = page.locator("table#workers tr.alive td.worker-queues").first
            assert queues.inner_text() == "background, critical, default"
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            default.locator("a.requeue").click()
            page.wait_for_selector("#letters")
            assert ids[0] in page.locator("#letters").inner_text()
            page.click("#confirm")
            page.wait_for_selector("ul.messagelist")
            assert "Requeued 1 dead letter(s) of default." in page.inner_text("ul.messagelist")
            # The worker runs it again; its second try succeeds.
            check = (
                "import json; from dramatiq_runtime.probes import tally; "
                f"print(json.dumps(tally({run_id!r}, {ids!r})))"
            )
            wait_until(
                lambda: '"completed": 1' in manage("shell", "-c", check).stdout,
                60,
                "the requeued message completed",
            )
            page.reload()
            assert default.locator("td.dead").inner_text() == "0"
        finally:
            stop(worker)
            stop(web)
            for key in broker.scan_iter(f"{namespace}*"):
                broker.delete(key)
    print(f"screenshot of the Queues page: {SCREENSHOT}")
