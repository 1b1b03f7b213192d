"""Hypothesis over the answer space: real bakes, judged against the contract's rules.

The oracle below restates CONTRACT.md's table on its own (it shares no code with the
models), so a rule the hook forgets or invents shows up as a mismatch in the prompts named.
"""

import os
import re
import shutil
import tomllib
import uuid
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_bad_answers import hook_frames

from conftest import cookiecutter

# prompt: (lowest, highest or None); CONTRACT.md section 1.
BOUNDS = {
    "dev_processes": (1, 32),
    "dev_threads": (1, 64),
    "prod_processes": (1, 32),
    "prod_threads": (1, 64),
    "max_retries": (0, None),
    "min_backoff": (100, None),
    "max_backoff": (1000, None),
    "max_age": (1000, None),
    "time_limit": (1000, None),
    "redis_cache_db": (0, 15),
    "redis_broker_db": (0, 15),
    "redis_results_db": (0, 15),
}
NOT_NUMBERS = ["", "x", "1.5", "1e3", "ten", "3 4", "--1"]
QUEUE_NAMES = ["default", "critical", "emails", "x-1", "x_1", "q9", "Bad", "9x", "a b", "a.b", ""]
SLUGS = {"shop": True, "my_app": True, "_private": True, "1abc": False, "my-app": False,
         "Shop": False, "django": False, "json": False, "class": False}  # fmt: skip
EMAILS = {"admin@example.com": True, "a.b+c@mail.example.org": True, "nope": False,
          "a@b": False, "": False, "x y@example.com": False}  # fmt: skip
DOMAINS = {"example.com": True, "my-site.co.uk": True, "localhost": False,
           "bad_domain": False, "": False, "exa mple.com": False}  # fmt: skip
FREE_TEXT = ["", "Plain", "Quotes \" and ' and \\ backslash", "Ünïcødé ✓ 東京"]
# "prompt = 'value': rule"; dots admitted so an unmapped field path shows up as a mismatch.
LINE = re.compile(r"^\s*([a-z_.]+) = '(.*)': (\S.*)$")


def integer(value: str) -> int | None:
    return int(value) if re.fullmatch(r"-?\d+", value) else None


def in_bounds(prompt: str, value: str) -> bool:
    number = integer(value)
    low, high = BOUNDS[prompt]
    return number is not None and number >= low and (high is None or number <= high)


def expected_problems(answers: dict) -> set[str]:
    """The prompts the contract says are wrong, as the hook must report them."""
    if not SLUGS[answers["project_slug"]]:
        return {"project_slug"}  # pre_gen refuses before anything is rendered
    wrong = {p for p in BOUNDS if not in_bounds(p, answers[p])}
    if answers["max_age"] == "":
        wrong.discard("max_age")
    low, high = integer(answers["min_backoff"]), integer(answers["max_backoff"])
    if "min_backoff" not in wrong and "max_backoff" not in wrong and high < low:
        wrong.add("max_backoff")
    dbs = ["redis_cache_db", "redis_broker_db", "redis_results_db"]
    if not wrong & set(dbs):
        cache, broker, results = (integer(answers[p]) for p in dbs)
        # A collision is reported at both prompts: either may be the one typed.
        if broker == cache:
            wrong |= {"redis_broker_db", "redis_cache_db"}
        if answers["use_results"] and results == cache:
            wrong |= {"redis_results_db", "redis_cache_db"}
        if answers["use_results"] and results == broker:
            wrong |= {"redis_results_db", "redis_broker_db"}
    queues = [name.strip() for name in answers["task_queues"].split(",")]
    if (
        not all(re.fullmatch(r"[a-z][a-z0-9_-]*", name) for name in queues)
        or len(set(queues)) != len(queues)
        or "default" not in queues
        or len({name.replace("-", "_") for name in queues}) != len(queues)
    ):
        wrong.add("task_queues")
    if not answers["project_name"].strip():
        wrong.add("project_name")
    if not EMAILS[answers["author_email"]]:
        wrong.add("author_email")
    if not DOMAINS[answers["domain_name"]]:
        wrong.add("domain_name")
    return wrong


def number_answer(prompt: str):
    low, high = BOUNDS[prompt]
    near = st.integers(low - 3, (high if high is not None else low * 40) + 3)
    return st.one_of(near.map(str), st.sampled_from(NOT_NUMBERS))


answer_sets = st.fixed_dictionaries(
    {
        **{prompt: number_answer(prompt) for prompt in BOUNDS},
        "task_queues": st.lists(st.sampled_from(QUEUE_NAMES), min_size=1, max_size=4).map(",".join),
        "use_results": st.booleans(),
        "project_name": st.sampled_from(["My Project", "Shop", " "]),
        "project_slug": st.sampled_from(sorted(SLUGS)),
        "author_email": st.sampled_from(sorted(EMAILS)),
        "domain_name": st.sampled_from(sorted(DOMAINS)),
        "description": st.sampled_from(FREE_TEXT),
        "author_name": st.sampled_from(FREE_TEXT),
    }
)
VALID = {
    **{prompt: str(low) for prompt, (low, _) in BOUNDS.items()},
    "redis_broker_db": "1", "redis_results_db": "2", "max_backoff": "1000",
    "task_queues": "default,x-1", "use_results": True, "project_name": "Shop",
    "project_slug": "shop", "author_email": "admin@example.com", "domain_name": "example.com",
    "description": FREE_TEXT[2], "author_name": FREE_TEXT[3],
}  # fmt: skip


def assert_well_formed(project: Path) -> None:
    """Free text in any answer must not break a generated file's syntax."""
    tomllib.loads((project / "pyproject.toml").read_text())
    for name in ("compose.yaml", "compose.prod.yaml"):
        yaml.safe_load((project / name).read_text())
    for source in project.rglob("*.py"):
        compile(source.read_text(), str(source), "exec")


@settings(
    # FUZZ_EXAMPLES=500 for a deeper hunt; every example is a real bake (~1 s).
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@example(answers=VALID)
@example(answers={**VALID, "min_backoff": "5", "redis_broker_db": "0", "max_age": "x"})
@given(answers=answer_sets)
def test_any_answers_are_baked_or_refused_cleanly(tmp_path_factory, answers):
    out = tmp_path_factory.mktemp(f"fuzz-{uuid.uuid4().hex[:6]}")
    pairs = [
        f"{key}={'yes' if v is True else 'no' if v is False else v}" for key, v in answers.items()
    ]
    proc = cookiecutter(out, *pairs, check=False)
    output = proc.stdout + proc.stderr
    expected = expected_problems(answers)
    try:
        assert not hook_frames(output), output
        if not expected:
            assert proc.returncode == 0, output
            assert_well_formed(out / answers["project_slug"])
            return
        assert proc.returncode != 0, output
        assert list(out.iterdir()) == [], "a refused bake left files behind"
        named = {}
        for line in output.splitlines():
            if match := LINE.match(line):
                named.setdefault(match[1], set()).add(match[2])
        assert set(named) == expected, output
        for prompt, values in named.items():
            assert values == {answers[prompt]}, output  # the value as given
    finally:
        shutil.rmtree(out, ignore_errors=True)
