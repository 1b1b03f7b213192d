"""The Kubernetes manifests (use_kubernetes): built by kustomize, valid, made from the config.

No cluster runs here: kustomize builds the overlay, kubernetes-validate and KEDA's typed
models check every object, and the consistency checks compare them with the production
config. Every check is shown to fail on a planted mistake. The bake matrix builds and
checks every option set the same way.
"""

import copy
import secrets
import shutil
import subprocess
import time

import pytest
import redis
from kubernetes_checks import (
    build,
    command_problems,
    commands_in,
    config_facts,
    consistency_problems,
    schema_problems,
)

from conftest import PYTHON, cookiecutter, free_port, production_env, run

QUEUES = "emails,default,reports-daily"


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    out = tmp_path_factory.mktemp("kube")
    cookiecutter(out, f"task_queues={QUEUES}", "redis_broker_db=4", "redis_results_db=5")
    project = out / "my_project"
    objects = build(project)
    return project, objects, config_facts(project)


def kinds(objects):
    counts = {}
    for obj in objects:
        counts[obj["kind"]] = counts.get(obj["kind"], 0) + 1
    return counts


def test_the_overlay_builds_validates_and_matches_the_config(baked):
    project, objects, facts = baked
    print(f"\n{len(objects)} objects: {kinds(objects)}")
    assert schema_problems(objects) == []
    assert consistency_problems(objects, facts) == []
    counts = kinds(objects)
    queues = len(facts["queues"])
    assert counts["ScaledObject"] == queues and counts["Deployment"] == queues + 2
    check = run([PYTHON, "manage.py", "kubernetes", "--check"], cwd=project)
    assert "made from the production config" in check.stdout


def plant(objects, kind, name_part, change):
    planted = copy.deepcopy(objects)
    for obj in planted:
        if obj["kind"] == kind and name_part in obj["metadata"]["name"]:
            change(obj)
            return planted
    raise AssertionError(f"no {kind} like {name_part}")


def test_planted_mistakes_are_found(baked):
    _, objects, facts = baked

    def short_grace(obj):
        obj["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 30

    def wrong_list(obj):
        obj["spec"]["triggers"][0]["metadata"]["listName"] = "my_project:emails-typo"

    def more_processes(obj):
        obj["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "64"

    cases = {
        "grace": (plant(objects, "Deployment", "worker-emails", short_grace),
                  "terminationGracePeriodSeconds 30 is not longer"),
        "list": (plant(objects, "ScaledObject", "worker-emails", wrong_list),
                 "KEDA watches ['my_project:emails-typo'"),
        "cpu": (plant(objects, "Deployment", "worker-default", more_processes),
                "DRAMATIQ_PROCESSES 64"),
        "missing": ([o for o in objects if not (o["kind"] == "ScaledObject"
                                                 and "reports-daily" in o["metadata"]["name"])],
                    "queue reports-daily: no ScaledObject"),
    }  # fmt: skip
    for case, (planted, expected) in cases.items():
        problems = consistency_problems(planted, facts)
        print(f"planted {case}: {problems}")
        assert any(expected in line for line in problems), (case, problems)

    # A KEDA field KEDA does not have, and a Kubernetes field Kubernetes does not have.
    typo = plant(objects, "ScaledObject", "worker-default",
                 lambda o: o["spec"].update(maxReplicas=5))  # fmt: skip
    unknown = plant(objects, "Deployment", "web",
                    lambda o: o["spec"]["template"]["spec"].update(gracePeriod=5))  # fmt: skip
    for planted, expected in ((typo, "maxReplicas"), (unknown, "gracePeriod")):
        problems = schema_problems(planted)
        print(f"planted schema mistake: {problems}")
        assert any(expected in line for line in problems), problems


def test_a_grace_shorter_than_the_shutdown_is_refused_by_the_config(baked):
    project, _, _ = baked
    env = production_env(project, KUBERNETES_TERMINATION_GRACE_SECONDS="60")
    proc = run([PYTHON, "manage.py", "kubernetes", "--check"], cwd=project, env=env, check=False)
    # The settings refuse to load, naming the variable, its value and the rule.
    assert proc.returncode != 0
    assert "KUBERNETES_TERMINATION_GRACE_SECONDS=60: " in proc.stderr
    assert "must exceed the worker shutdown timeout" in proc.stderr


def test_drift_from_the_config_fails_the_check_and_a_rewrite_mends_it(baked, tmp_path):
    project, _, _ = baked
    copy_of = tmp_path / "my_project"
    shutil.copytree(project, copy_of, ignore=shutil.ignore_patterns(".venv"))
    environments = copy_of / "my_project" / "config" / "environments.py"
    text = environments.read_text()
    assert '"processes": 8,' in text
    environments.write_text(text.replace('"processes": 8,', '"processes": 3,', 1))
    check = run([PYTHON, "manage.py", "kubernetes", "--check"], cwd=copy_of, check=False)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "worker-emails.yaml: differs from the config" in check.stderr
    run([PYTHON, "manage.py", "kubernetes"], cwd=copy_of)
    facts = config_facts(copy_of)
    assert facts["processes"] == 3
    assert consistency_problems(build(copy_of), facts) == []


def test_list_names_are_where_the_broker_puts_messages(baked, tmp_path):
    """One message per queue sent now and one delayed, through the production config's
    broker: each lands in the two lists the queue's ScaledObject watches."""
    project, objects, facts = baked
    password = secrets.token_urlsafe(16)
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--requirepass", password, "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = redis.Redis(port=port, password=password, db=facts["broker_db"])
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        send = (
            "from django.conf import settings\n"
            "from my_project.tasks import actors\n"
            "for queue in settings.CONFIG.tasks.dramatiq.queues:\n"
            "    actor = getattr(actors, queue.replace('-', '_') + '_example')\n"
            "    actor.send({})\n"
            "    actor.send_with_options(args=({},), delay=600_000)\n"
        )
        env = production_env(
            project,
            REDIS_URL=f"redis://:{password}@127.0.0.1:{port}",
            DRAMATIQ_ADMIN_ENABLED="false",
        )
        run([PYTHON, "manage.py", "shell", "-c", send], cwd=project, env=env)
        for obj in objects:
            if obj["kind"] != "ScaledObject":
                continue
            for trigger in obj["spec"]["triggers"]:
                key = trigger["metadata"]["listName"]
                db = int(trigger["metadata"]["databaseIndex"])
                length = redis.Redis(port=port, password=password, db=db).llen(key)
                print(f"LLEN {key} (db {db}) = {length}")
                assert length == 1, key
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_without_kubernetes_there_is_no_deploy_folder(tmp_path):
    cookiecutter(tmp_path, "use_kubernetes=no")
    project = tmp_path / "my_project"
    assert not (project / "deploy").exists()
    assert "kubernetes" not in (project / "tests" / "test_environments.py").read_text()
    # The command is the runtime's and still there: it writes them when asked.
    run([PYTHON, "manage.py", "kubernetes"], cwd=project)
    assert consistency_problems(build(project), config_facts(project)) == []


def test_every_command_and_probe_exists(baked):
    """What the pods run is there (the engine's prod stack asks its image the same)."""
    project, objects, _ = baked
    commands = commands_in(objects)
    assert len(commands) >= 5, commands

    def in_the_bake(*args):
        return run([PYTHON, *args[1:]], cwd=project, check=False)

    assert command_problems(commands, in_the_bake) == []
    planted = [["python", "manage.py", "worker", "--queues", "x", "--no-such-flag", "1"],
               ["python", "-m", "dramatiq_runtime.no_such_module"]]  # fmt: skip
    problems = command_problems(planted, in_the_bake)
    print(problems)
    assert len(problems) == 2 and "--no-such-flag" in problems[0]
