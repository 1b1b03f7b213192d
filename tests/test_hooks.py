"""What the hooks do besides validation: secrets, messages, a project that installs."""

import os
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
    for package in ("django==5.2", "dramatiq", "django-dramatiq", "pydantic-settings", "psycopg"):
        assert package in freeze, freeze
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
    """pip alone (>= 25.1 reads dependency groups) is enough, as the generated CI does it."""
    cookiecutter(tmp_path, "database=sqlite")
    project = tmp_path / "my_project"
    venv = tmp_path / "venv"
    run([PYTHON, "-m", "venv", venv])
    python = venv / "bin" / "python"
    run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], timeout=300)
    run(
        [python, "-m", "pip", "install", "-q", "-e", ".", "--group", "dev"],
        cwd=project,
        timeout=600,
    )
    collected = run([python, "-m", "pytest", "--collect-only", "-q"], cwd=project)
    assert " tests collected" in collected.stdout
    assert run([venv / "bin" / "ruff", "check", "."], cwd=project).returncode == 0


def test_hooks_import_unrendered():
    """No Jinja at module level: the hooks load as plain Python, as cookiecutter-django's do."""
    pre, post = load_hook("pre_gen_project"), load_hook("post_gen_project")
    assert callable(pre.main) and callable(post.answer_problems)
    assert "{{ cookiecutter" in post.RENDERED_ANSWERS  # unrendered here, rendered in a bake


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


def test_post_gen_next_steps_follow_the_answers():
    post = load_hook("post_gen_project")
    project = Path("/somewhere/shop")
    steps = post.next_steps(project, {"database": "postgresql", "use_scheduler": True})
    assert "web, worker, scheduler, redis, postgres" in steps
    steps = post.next_steps(project, {"database": "sqlite", "use_scheduler": False})
    assert "web, worker, redis\n" in steps and "cd shop" in steps


@pytest.mark.parametrize(
    ("option", "files"),
    [("use_scheduler", "SCHEDULER_FILES"), ("admin_enabled", "ADMIN_FILES")],
)
def test_post_gen_removes_an_options_files_only_without_it(tmp_path, option, files):
    post = load_hook("post_gen_project")
    paths = [tmp_path / path.format(slug="shop") for path in getattr(post, files)]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    chosen = {"use_scheduler": True, "admin_enabled": True, "project_slug": "shop"}
    post.remove_unused(tmp_path, chosen)
    assert all(path.exists() for path in paths)
    post.remove_unused(tmp_path, {**chosen, option: False})
    assert not any(path.exists() for path in paths)
