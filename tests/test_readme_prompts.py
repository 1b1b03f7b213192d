"""The README's prompt table is made from cookiecutter.json: it cannot drift or miss a prompt."""

import json
import shutil

from conftest import PYTHON, TEMPLATE, run

SCRIPT = TEMPLATE / "scripts" / "prompt_table.py"


def check(template):
    return run([PYTHON, SCRIPT, "--check", "--template", template], check=False)


def test_readme_prompt_table_is_current():
    proc = check(TEMPLATE)
    assert proc.returncode == 0, proc.stderr


def copy_with(tmp_path, change):
    for name in ("cookiecutter.json", "README.md"):
        shutil.copy(TEMPLATE / name, tmp_path / name)
    config = json.loads((tmp_path / "cookiecutter.json").read_text())
    change(config)
    (tmp_path / "cookiecutter.json").write_text(json.dumps(config, indent=2))
    return tmp_path


def test_a_prompt_without_help_fails(tmp_path):
    template = copy_with(tmp_path, lambda c: c.update(worker_memory_limit="512"))
    proc = check(template)
    assert proc.returncode == 1
    assert "worker_memory_limit: no help text" in proc.stderr


def test_a_prompt_missing_from_the_readme_fails(tmp_path):
    def add_documented_prompt(config):
        config["worker_memory_limit"] = "512"
        config["__prompts__"]["worker_memory_limit"] = "Memory limit of a worker (MiB)"

    proc = check(copy_with(tmp_path, add_documented_prompt))
    assert proc.returncode == 1
    assert "prompt table is out of date" in proc.stderr
