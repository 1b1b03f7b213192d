"""Jinja filters that turn prompt answers into Python literals and lists.

Answers arrive as strings ("2") under ``--no-input`` and may be anything a user typed. The
filters never raise: a bad answer still renders to valid Python (as a string), so the post-gen
hook can load the generated config models and report every problem with the prompt's name.
List parsing and actor names come from the runtime package's ``config/names.py``, so the
rendered files and the running project follow one rule.
"""

import importlib.util
import json
import re
from pathlib import Path

from jinja2.ext import Extension

_INTEGER = re.compile(r"[+-]?\d+")
_PACKAGE = "{" * 2 + "cookiecutter.project_slug" + "}" * 2  # the template's folder name
RUNTIME = "packages/dramatiq_runtime"  # the runtime package, copied into every bake


def load_names(template: Path):
    """The runtime package's ``config/names.py``, loaded from the template folder."""
    path = template / _PACKAGE / RUNTIME / "dramatiq_runtime" / "config" / "names.py"
    spec = importlib.util.spec_from_file_location("template_config_names", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TEMPLATE = Path(__file__).resolve().parent
names = load_names(TEMPLATE)
# The Pythons the template offers, read once, like ``names``: files render with the
# project's folder as the working directory.
OFFERED_PYTHONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"]


def py(value):
    """Render an answer as a Python literal: int when it is one, else a quoted string."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    text = str(value).strip()
    if _INTEGER.fullmatch(text):
        return str(int(text))
    return json.dumps(text)


def items(value):
    """A comma-separated answer as its list of names (``names.comma_separated``)."""
    return names.comma_separated(str(value))


def offered_pythons(chosen: str) -> list[str]:
    """Every ``python_version`` the template offers (cookiecutter.json's choices), the
    chosen one first: the generated CI tests each, as the template's engine runs each."""
    return [chosen, *(version for version in OFFERED_PYTHONS if version != chosen)]


def template_dir() -> str:
    """The template folder being baked from, for the hooks (``locks/``, ``hook_env.py``).

    cookiecutter and cruft render every hook with that folder as the working directory
    (cookiecutter's ``run_hook_from_repo_dir``; its ``find_hook`` requires it), and cruft
    never sets ``_repo_dir``. Not this module's ``__file__``: the module stays imported
    across bakes in one process (pytest-cookies, cruft update), and cookiecutter bakes a
    template with a pre_prompt hook from a temporary copy it deletes afterwards.
    """
    folder = Path.cwd()
    if not (folder / "cookiecutter.json").is_file():
        raise RuntimeError(f"template_dir(): {folder} holds no cookiecutter.json")
    return str(folder)


class PythonLiterals(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["py"] = py
        environment.filters["items"] = items
        environment.filters["example_actor"] = names.example_actor_name
        environment.globals["template_dir"] = template_dir
        environment.filters["offered_pythons"] = offered_pythons
