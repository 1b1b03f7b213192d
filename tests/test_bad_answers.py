"""Every bad answer is refused by a hook, naming prompt, value and rule; nothing is left."""

import json
import re

import pytest

from conftest import TEMPLATE, cookiecutter

DEFAULTS = json.loads((TEMPLATE / "cookiecutter.json").read_text())

# (answers, the prompt that must be named, a piece of the rule that must be stated)
CASES = [
    (["dev_processes=0"], "dev_processes", "greater than or equal to 1"),
    (["dev_processes=33"], "dev_processes", "less than or equal to 32"),
    (["dev_threads=0"], "dev_threads", "greater than or equal to 1"),
    (["dev_threads=65"], "dev_threads", "less than or equal to 64"),
    (["prod_processes=0"], "prod_processes", "greater than or equal to 1"),
    (["prod_processes=33"], "prod_processes", "less than or equal to 32"),
    (["prod_threads=0"], "prod_threads", "greater than or equal to 1"),
    (["prod_threads=65"], "prod_threads", "less than or equal to 64"),
    (["max_retries=-1"], "max_retries", "greater than or equal to 0"),
    (["min_backoff=99"], "min_backoff", "greater than or equal to 100"),
    (["max_backoff=999"], "max_backoff", "greater than or equal to 1000"),
    (["min_backoff=5000", "max_backoff=2000"], "max_backoff", "must be >= min_backoff (5000)"),
    (["max_age=999"], "max_age", "greater than or equal to 1000"),
    (["max_age=soon"], "max_age", "valid integer"),
    (["time_limit=999"], "time_limit", "greater than or equal to 1000"),
    (["time_limit=1e4"], "time_limit", "valid integer"),
    (["dev_processes=two"], "dev_processes", "valid integer"),
    (["redis_cache_db=16"], "redis_cache_db", "less than or equal to 15"),
    (["redis_broker_db=-1"], "redis_broker_db", "greater than or equal to 0"),
    (["redis_results_db=16"], "redis_results_db", "less than or equal to 15"),
    (["redis_broker_db=0"], "redis_broker_db", "Redis database 0 is already the cache's"),
    (["redis_results_db=1"], "redis_results_db", "Redis database 1 is already the broker's"),
    (["task_queues=critical,background"], "task_queues", "must include 'default'"),
    (["task_queues=default,mail,mail"], "task_queues", "must be unique, repeated: mail"),
    (["task_queues=Default"], "task_queues", "must match [a-z][a-z0-9_-]*"),
    (["task_queues=default,,reports"], "task_queues", "must match [a-z][a-z0-9_-]*, got ''"),
    (["task_queues=default,9lives"], "task_queues", "got '9lives'"),
    (["task_queues=default,a b"], "task_queues", "got 'a b'"),
    (["project_slug=my-project"], "project_slug", "lower-case Python identifier"),
    (["project_slug=MyProject"], "project_slug", "lower-case Python identifier"),
    (["project_slug=django"], "project_slug", "does not shadow"),
    (["project_slug=json"], "project_slug", "does not shadow"),
    (["project_slug=class"], "project_slug", "not a keyword"),
    (["project_name= ", "project_slug=shop"], "project_name", "must not be empty"),
    (["author_email=nope"], "author_email", "e-mail address"),
    (["author_email=a@b"], "author_email", "e-mail address"),
    (["domain_name=bad_domain"], "domain_name", "domain name"),
    (["domain_name=exa mple.com"], "domain_name", "domain name"),
    (["domain_name=localhost"], "domain_name", "domain name like example.com"),
    (["domain_name="], "domain_name", "at least one host in production"),
    (["author_email="], "author_email", "e-mail address"),
    (["project_slug=1abc"], "project_slug", "lower-case Python identifier"),
    (["project_slug=dramatiq"], "project_slug", "does not shadow"),
    (["max_retries=many"], "max_retries", "valid integer"),
    (["min_backoff=1.5"], "min_backoff", "valid integer"),
    (["min_backoff="], "min_backoff", "valid integer"),
    (["max_age=-5"], "max_age", "greater than or equal to 1000"),
    (["time_limit="], "time_limit", "valid integer"),
    (["prod_threads=1.5"], "prod_threads", "valid integer"),
    (["dev_threads= "], "dev_threads", "valid integer"),
    (["redis_cache_db=x"], "redis_cache_db", "valid integer"),
    (["redis_cache_db="], "redis_cache_db", "valid integer"),
    (["redis_cache_db=1", "redis_broker_db=1"], "redis_broker_db", "already the cache's"),
    (["redis_cache_db=2"], "redis_results_db", "Redis database 2 is already the cache's"),
    # A collision names both prompts: the one typed and the default it met.
    (["redis_cache_db=1"], "redis_cache_db", "Redis database 1 is also the broker's"),
    (["redis_cache_db=1"], "redis_broker_db", "Redis database 1 is already the cache's"),
    (["task_queues="], "task_queues", "must include 'default'"),
    (["task_queues=default,a.b"], "task_queues", "got 'a.b'"),
    (["task_queues=default,x-1,x_1"], "task_queues", "'-' read as '_' (each gets an example"),
    # A field error must not hide the Redis layout (pydantic skips after-validators).
    (["min_backoff=5", "redis_broker_db=0"], "redis_broker_db", "already the cache's"),
]


def assert_refused(tmp_path, answers):
    out = tmp_path / "out"
    out.mkdir()
    proc = cookiecutter(out, *answers, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert list(out.iterdir()) == [], "a failed bake left files behind"
    assert not hook_frames(output), output
    return output


def hook_frames(output: str) -> list[str]:
    """Traceback frames outside cookiecutter and click: ours (hooks run as /tmp/tmp*.py).

    cookiecutter prints its own FailedHookException traceback; none may come from a hook.
    """
    frames = re.findall(r'File "([^"]+)"', output)
    return [f for f in frames if not re.search(r"/(cookiecutter|click)/|^<frozen", f)]


def test_catalogue_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize(("answers", "prompt", "rule"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_bad_answer_refused(tmp_path, answers, prompt, rule):
    output = assert_refused(tmp_path, answers)
    given = {k: str(v) for k, v in DEFAULTS.items()}
    given.update(answer.split("=", 1) for answer in answers)
    given = given[prompt]
    assert f"{prompt} = {given!r}: " in output, output
    assert rule in output, output


def test_every_problem_is_reported_at_once(tmp_path):
    output = assert_refused(tmp_path, ["dev_processes=100", "redis_broker_db=0"])
    assert "dev_processes = '100': Input should be less than or equal to 32" in output
    assert "redis_broker_db = '0': Redis database 0 is already the cache's" in output


def test_bad_choice_is_refused_by_cookiecutter(tmp_path):
    output = assert_refused(tmp_path, ["database=mysql"])
    assert "database" in output and "mysql" in output
