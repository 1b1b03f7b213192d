"""Shared helpers for baking the template and running the generated project."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATE = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
# check-jsonschema's copy of the GitHub Actions workflow schema (no network needed).
GITHUB_WORKFLOW = ["--builtin-schema", "vendor.github-workflows"]


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


def production_env(**extra):
    """What production must be given: a real secret key, hosts and a Redis password."""
    return {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "example.com",
        "REDIS_URL": "redis://:s3cret@localhost:6379",
        **extra,
    }


@pytest.fixture
def bake(cookies):
    """Bake with ``extra_context`` and return the project path, failing loudly on error."""

    def _bake(**context):
        result = cookies.bake(extra_context=context)
        assert result.exit_code == 0, result.exception
        assert result.exception is None
        return Path(result.project_path)

    return _bake
