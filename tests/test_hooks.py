"""What the hooks do besides validation: secrets, messages, a project that installs."""

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON, TEMPLATE, cookiecutter, free_port, load_hook, run


def test_each_bake_gets_its_own_secret_key(tmp_path):
    keys = []
    for name in ("one", "two"):
        out = tmp_path / name
        proc = cookiecutter(out)
        assert "Next steps" in proc.stdout
        env_file = (out / "my_project" / ".env").read_text()
        [line] = [line for line in env_file.splitlines() if line.startswith("DJANGO_SECRET_KEY=")]
        keys.append(line.split("=", 1)[1])
        assert ".env" in (out / "my_project" / ".gitignore").read_text().splitlines()
        assert ".env" in (out / "my_project" / ".dockerignore").read_text().splitlines()
    assert keys[0] != keys[1]
    assert all(len(key) >= 50 for key in keys)


def test_pre_prompt_without_pydantic_and_offline_names_the_fix(tmp_path):
    # -S: no site-packages, so pydantic is not importable, as with a bare cookiecutter;
    # no uv on PATH and a closed index: the hook environment cannot be made.
    env = {
        **os.environ,
        "PATH": "/usr/bin:/bin",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PIP_INDEX_URL": f"http://127.0.0.1:{free_port()}/simple",
    }
    proc = subprocess.run(
        [PYTHON, "-I", "-S", TEMPLATE / "hooks" / "pre_prompt.py"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 1
    assert "pydantic is needed to check the answers" in proc.stderr
    assert "uvx --with pydantic cookiecutter" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_pre_prompt_passes_with_pydantic(tmp_path):
    proc = run([PYTHON, TEMPLATE / "hooks" / "pre_prompt.py"], cwd=tmp_path)
    assert proc.stderr == ""


def test_generated_project_installs_in_a_fresh_venv(tmp_path):
    """The project's own pyproject.toml is enough: a clean venv, install, check."""
    cookiecutter(tmp_path, "database=postgresql")
    project = tmp_path / "my_project"
    venv = tmp_path / "venv"
    uv = [PYTHON, "-m", "uv"]
    run([*uv, "venv", "--python", PYTHON, venv], timeout=120)
    env = {"VIRTUAL_ENV": str(venv)}
    run(
        [*uv, "pip", "install", "--python", venv / "bin" / "python", "-e", project],
        env=env,
        timeout=600,
    )
    python = venv / "bin" / "python"
    freeze = run([*uv, "pip", "freeze", "--python", python]).stdout.lower()
    for package in ("django==5.2", "dramatiq", "django-dramatiq", "pyyaml", "psycopg"):
        assert package in freeze, freeze
    assert "packages/dramatiq_runtime" in freeze, freeze  # the path dependency, from its folder
    check = run(
        [python, "manage.py", "check"],
        cwd=project,
        env={"PATH": f"{venv / 'bin'}:{os.environ['PATH']}"},
    )
    assert "System check identified no issues" in check.stdout


def test_env_file_is_ignored_by_git(tmp_path):
    """`git add -A` in a fresh repository must not pick up the secrets."""
    cookiecutter(tmp_path)
    project = tmp_path / "my_project"
    run(["git", "init", "-q"], cwd=project)
    run(["git", "add", "-A"], cwd=project)
    tracked = run(["git", "ls-files"], cwd=project).stdout.splitlines()
    assert ".env" not in tracked and ".env.example" in tracked
    assert run(["git", "check-ignore", ".env"], cwd=project).stdout.strip() == ".env"


def test_generated_project_installs_with_pip_and_its_dev_group(tmp_path):
    """pip alone (>= 25.1 reads dependency groups) is enough, as the README documents it:
    the runtime package from its folder, then the project, with no index for the runtime."""
    cookiecutter(tmp_path, "database=sqlite")
    project = tmp_path / "my_project"
    venv = tmp_path / "venv"
    run([PYTHON, "-m", "venv", venv])
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], timeout=300)
    run(
        [python, "-m", "pip", "install", "-q", "-e", "packages/dramatiq_runtime", "-e", "."]
        + ["--group", "dev"],
        cwd=project,
        timeout=600,
    )
    where = "import dramatiq_runtime; print(dramatiq_runtime.__file__)"
    installed = run([python, "-c", where], cwd=tmp_path).stdout.strip()
    assert installed.startswith(str(project / "packages" / "dramatiq_runtime"))
    collected = run([python, "-m", "pytest", "--collect-only", "-q"], cwd=project)
    assert " tests collected" in collected.stdout
    assert run([venv / "bin" / "ruff", "check", "."], cwd=project).returncode == 0


def test_hooks_import_unrendered():
    """No Jinja at module level: the hooks load as plain Python, as cookiecutter-django's do."""
    pre, post = load_hook("pre_gen_project"), load_hook("post_gen_project")
    assert callable(pre.main) and callable(post.answer_problems)
    assert "{{ cookiecutter" in post.RENDERED_ANSWERS  # unrendered here, rendered in a bake
    assert "template_dir()" in post.RENDERED_TEMPLATE and "template_dir()" in pre.RENDERED


def test_in_process_bakes_each_find_the_template(bake):
    """pytest-cookies bakes in one process: local_extensions stays imported from the first
    bake's temporary copy (deleted since), so the hooks must not take its ``__file__``."""
    for _ in range(2):
        assert (bake() / "uv.lock").is_file()


def template_copy(tmp_path) -> Path:
    """A copy of the template's working tree, to bake a broken variant of it."""
    copy = tmp_path / "template"
    ignore = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".*_cache", ".hypothesis")
    shutil.copytree(TEMPLATE, copy, ignore=ignore, symlinks=True)
    return copy


def test_install_lock_refuses_a_missing_lock(tmp_path):
    post = load_hook("post_gen_project")
    answers = {"project_slug": "shop", "database": "sqlite"}
    answers |= {"prometheus_enabled": False, "use_scheduler": True}
    answers |= {"use_opentelemetry": True, "use_sentry": False}
    post.install_lock(tmp_path, answers, TEMPLATE)
    assert 'name = "shop"' in (tmp_path / "uv.lock").read_text()
    with pytest.raises(post.TemplateIncomplete) as missing:
        post.install_lock(tmp_path, answers, tmp_path / "no-template")
    lock = "sqlite-noprometheus-scheduler-opentelemetry-nosentry.lock"
    assert f"{lock} is missing" in str(missing.value)
    assert "the template is incomplete" in str(missing.value)


def test_a_template_without_its_lock_bakes_nothing(tmp_path):
    template = template_copy(tmp_path)
    defaults = "postgresql-noprometheus-scheduler-noopentelemetry-nosentry.lock"
    (template / "locks" / defaults).unlink()
    out = tmp_path / "out"
    proc = run([PYTHON, "-m", "cookiecutter", template, "--no-input", "-o", out], check=False)
    assert proc.returncode != 0
    [line] = [line for line in proc.stderr.splitlines() if line.startswith("uv.lock: ")]
    assert f"locks/{defaults} is missing" in line
    assert "the template is incomplete" in line
    assert not (out / "my_project").exists()


def hook_env():
    spec = importlib.util.spec_from_file_location("template_hook_env", TEMPLATE / "hook_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_too_old_cookiecutter_is_named_with_the_minimum_and_the_fix():
    env = hook_env()
    line = env.cookiecutter_problem("2.6.0")
    assert line.startswith("cookiecutter 2.6.0 is too old for this template: it needs ")
    assert f"cookiecutter >= {env.MIN_COOKIECUTTER}" in line and "\n" not in line
    assert "pip install -U cookiecutter" in line and "uvx cookiecutter" in line
    assert env.cookiecutter_problem("1.7.3") is not None
    for fine in (env.MIN_COOKIECUTTER, "2.7.1", "2.10.0", "3.0"):
        assert env.cookiecutter_problem(fine) is None, fine
    assert env.cookiecutter_problem() is None  # the tests' own cookiecutter
    # The README's install line states the same minimum.
    assert f'"cookiecutter>={env.MIN_COOKIECUTTER}"' in (TEMPLATE / "README.md").read_text()


# 2.6.0 runs pre_prompt (refused before any question); 2.3.1 has no pre_prompt hook
# (refused by pre_gen, as under cruft with an old cookiecutter).
@pytest.mark.parametrize("old", ["2.6.0", "2.3.1"])
def test_an_old_cookiecutter_stops_with_one_line_and_leaves_nothing(tmp_path, old):
    venv = tmp_path / "venv"
    uv = [PYTHON, "-m", "uv"]
    run([*uv, "venv", "--quiet", "--python", PYTHON, venv], timeout=120)
    python = venv / "bin" / "python"
    run([*uv, "pip", "install", "--quiet", "--python", python, f"cookiecutter=={old}"])
    out = tmp_path / "out"
    proc = run([python, "-m", "cookiecutter", TEMPLATE, "--no-input", "-o", out], check=False)
    assert proc.returncode != 0
    [line] = [line for line in proc.stderr.splitlines() if "is too old" in line]
    assert line.startswith(f"cookiecutter {old} is too old for this template: it needs ")
    assert not (out / "my_project").exists()


def test_pre_gen_judges_the_slug_with_the_projects_rule(capsys):
    pre = load_hook("pre_gen_project")
    assert pre.main("shop", TEMPLATE) == 0
    assert pre.main("json", TEMPLATE) == 1
    assert (
        "project_slug = 'json': must be a lower-case Python identifier" in capsys.readouterr().err
    )


def test_post_gen_names_the_prompts_behind_a_bad_value(tmp_path):
    """The hook's validation on a project baked without hooks: each line names its prompt."""
    cookiecutter(
        tmp_path, "--accept-hooks", "no", "redis_cache_db=1", "prod_threads=65", "max_age=5"
    )
    post = load_hook("post_gen_project")
    answers = {"project_slug": "my_project", "redis_cache_db": "1", "redis_broker_db": 1}
    answers |= {"prod_threads": "65", "max_age": "5", "task_queues": "critical,default"}
    lines = post.answer_problems(tmp_path / "my_project", answers)
    assert "prod_threads = '65': Input should be less than or equal to 64" in lines
    assert "max_age = '5': Input should be greater than or equal to 1000" in lines
    assert "redis_cache_db = '1': Redis database 1 is also the broker's" in "\n".join(lines)
    assert "redis_broker_db = 1: Redis database 1 is already the cache's" in "\n".join(lines)


# Answers unlike every default, so a field that kept its default is caught.
DISTINCT = {
    "project_name": "Drift Shop",
    "description": "Checks each field",
    "author_name": "Ada",
    "author_email": "ada@drift.example",
    "domain_name": "drift.example",
    "database": "sqlite",
    "task_queues": "mail,default,slow",
    "dev_processes": 3,
    "dev_threads": 5,
    "prod_processes": 6,
    "prod_threads": 7,
    "max_retries": 9,
    "min_backoff": 1100,
    "max_backoff": 31000,
    "max_age": 86400000,
    "time_limit": 610000,
    "redis_cache_db": 3,
    "redis_broker_db": 4,
    "redis_results_db": 5,
    "use_results": False,
    "prometheus_enabled": True,
    "admin_enabled": False,
    "use_scheduler": False,
    "use_opentelemetry": True,
    "use_sentry": True,
}


def test_every_prompt_sets_the_fields_the_hook_names_for_it(tmp_path):
    """The hook's FIELDS and config/environments.py agree: each prompt's answer is in
    each field FIELDS gives it (else a bad answer would be blamed on the wrong prompt)."""
    post = load_hook("post_gen_project")
    prompts = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    asked = {key for key in prompts if not key.startswith("_")} - set(post.FILES_ONLY)
    assert set(post.FIELDS) == asked
    answers = {**DISTINCT, "project_slug": "drift_shop"}
    cookiecutter(tmp_path, *(f"{key}={value}" for key, value in answers.items()))
    config = post.project_config(tmp_path / "drift_shop", "drift_shop")
    from dramatiq_runtime.config import loading, stand_ins

    production = loading.variables_source(stand_ins.PRODUCTION_STAND_INS).data
    built = {
        "development": config.DevConfig().model_dump(),
        "production": config.ProdConfig(**production).model_dump(),
    }
    expected = {
        "database": "sqlite:///db.sqlite3",
        "task_queues": ["mail", "default", "slow"],
        "domain_name": "drift.example",
    }
    for prompt, fields in post.FIELDS.items():
        for where, path in fields:
            for environment in [where] if where else list(built):
                value = built[environment]
                for key in path:
                    value = value[key]
                want = expected.get(prompt, answers[prompt])
                if path == ("allowed_hosts",):
                    want = [want]
                assert value == want, (prompt, environment, path)


def test_post_gen_next_steps_follow_the_answers():
    post = load_hook("post_gen_project")
    project = Path("/somewhere/shop")
    steps = post.next_steps(project, {"database": "postgresql", "use_scheduler": True})
    assert "web, worker, scheduler, redis, postgres" in steps
    steps = post.next_steps(project, {"database": "sqlite", "use_scheduler": False})
    assert "web, worker, redis\n" in steps and "cd shop" in steps
