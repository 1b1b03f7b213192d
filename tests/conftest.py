"""Shared helpers for baking the template and running the generated project."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from fnmatch import fnmatch
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
# Figures the engine tests measure, printed at the end of the run (xdist workers write them):
# one file per run, named by the controller (its workers inherit the variable), so runs at
# once on one machine neither mix nor delete each other's figures.
FIGURES = Path(
    os.environ.setdefault(
        "TEMPLATE_TEST_FIGURES",
        str(Path(tempfile.gettempdir()) / f"cookiecutter-django-dramatiq-{os.getpid()}.figures"),
    )
)
# check-jsonschema's copy of the GitHub Actions workflow schema (no network needed).
GITHUB_WORKFLOW = ["--builtin-schema", "vendor.github-workflows"]


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float, what: str, state=None, interval: float = 0.2):
    """Poll ``condition`` until it returns something true, and return that.

    On timeout the error says what was awaited and, if given, ``state()``.
    """
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            detail = f"; {state()}" if state else ""
            raise AssertionError(f"not within {timeout} s: {what}{detail}")
        time.sleep(interval)
    return value


def run(args, cwd=None, env=None, timeout=300, check=True):
    """Run a command, returning the CompletedProcess; on failure show its whole output."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


def cookiecutter(output_dir, *answers, check=True):
    """The real CLI, as users run it: ``cookiecutter TEMPLATE --no-input -o OUT k=v ...``."""
    return run(
        [PYTHON, "-m", "cookiecutter", TEMPLATE, "--no-input", "-o", output_dir, *answers],
        check=check,
    )


def production_env(project, **extra):
    """What production must be given: the runtime's stand-ins (config/stand_ins.py)."""
    code = (
        "import json, sys; from importlib import import_module; "
        "print(json.dumps(import_module(sys.argv[1]).PRODUCTION_STAND_INS))"
    )
    module = "dramatiq_runtime.config.stand_ins"
    stand_ins = json.loads(run([PYTHON, "-c", code, module], cwd=project).stdout)
    return {"DJANGO_ENV": "production", **stand_ins, **extra}


UNRENDERED = ("{{ cookiecutter.", "{{cookiecutter.", "{%", "{#")


def unrendered_jinja(project) -> list[str]:
    """``file:line`` of every line in a generated project that still holds Jinja.

    Files cookiecutter copies without rendering (``_copy_without_render``: Django's own
    templates, whose ``{%`` is Django's) may only not name ``cookiecutter``.
    """
    copied = json.loads((TEMPLATE / "cookiecutter.json").read_text())["_copy_without_render"]
    found = []
    for path in sorted(Path(project).rglob("*")):
        if not path.is_file() or ".git" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        relative = str(path.relative_to(project))  # as _copy_without_render matches it
        marks = ("cookiecutter",) if any(fnmatch(relative, p) for p in copied) else UNRENDERED
        for number, line in enumerate(text.splitlines(), 1):
            if any(mark in line for mark in marks):
                found.append(f"{path.relative_to(project)}:{number}: {line.strip()}")
    return found


# Documents of the template's makers that a generated project's user does not have.
FOREIGN_DOCUMENTS = ("feature page", "field notes", "field-notes", "contract.md", "seed/")


def foreign_documents(project) -> list[str]:
    """``file: phrase`` for each generated file that refers to a document users lack."""
    found = []
    for path in sorted(Path(project).rglob("*")):
        if not path.is_file() or ".git" in path.parts or path.name == "uv.lock":
            continue
        try:
            text = path.read_text(encoding="utf-8").lower()
        except UnicodeDecodeError:
            continue
        found += [f"{path.relative_to(project)}: {p}" for p in FOREIGN_DOCUMENTS if p in text]
    return found


def load_hook(name):
    """A hook module from the template, imported unrendered (as cookiecutter-django's tests do)."""
    spec = importlib.util.spec_from_file_location(f"hook_{name}", TEMPLATE / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def bake(cookies):
    """Bake with ``extra_context`` and return the project path, failing loudly on error."""

    def _bake(**context):
        result = cookies.bake(extra_context=context)
        assert result.exit_code == 0, result.exception
        assert result.exception is None
        return Path(result.project_path)

    return _bake


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "engine: runs compose stacks on a Docker engine (REQUIRE_DOCKER=1: required)"
    )
    if not hasattr(config, "workerinput"):  # the controller, once per run
        FIGURES.unlink(missing_ok=True)


# The longest tests (minutes each: CI's --durations), run first. With scripts/test.sh's
# `--maxschedchunk 1` xdist hands tests out one at a time in collection order, to whichever
# worker is free: the long ones spread over both workers, and the run ends on short ones.
# (Without it xdist gives each worker a contiguous first chunk: all of these to one.)
LONGEST_FIRST = (
    "test_engine.py::test_dev_stack",
    "test_generated_suite.py::",
    "test_engine.py::test_prod_faults",
    "test_engine.py::test_prod_stack",
    "test_benchmarks.py::",
)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        return next(
            (i for i, part in enumerate(LONGEST_FIRST) if part in item.nodeid),
            len(LONGEST_FIRST),
        )

    items.sort(key=rank)  # stable: the others keep their order


def pytest_terminal_summary(terminalreporter):
    # xdist workers run this hook too, to a terminal nobody sees: only the controller
    # prints the figures, then removes the run's file.
    if hasattr(terminalreporter.config, "workerinput"):
        return
    if FIGURES.exists():
        terminalreporter.section("figures measured by the tests (engine stacks, bakes)")
        for line in FIGURES.read_text().splitlines():
            terminalreporter.write_line(line)
        FIGURES.unlink()
