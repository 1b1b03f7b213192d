"""The hooks' own Python with pydantic, for a cookiecutter that has none: made once, cached.

The post-gen hook checks the answers with the generated project's pydantic models.
cookiecutter-django's hooks need nothing beyond cookiecutter, and ours should not ask users
to reinstall theirs: when pydantic is not importable, the hooks make a small environment of
their own under the user's cache directory (uv when it is on PATH, else ``python -m venv``
and pip), with pinned versions, and run the checks there. Nothing is ever installed into
cookiecutter's own environment. Standard library only: it runs before anything else.
"""

import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# What the generated config models need to validate answers (the .env source is imported
# only when a project loads its config), and PyYAML for the Kubernetes manifests
# (cookiecutter itself depends on it, so a cookiecutter with pydantic has both).
REQUIREMENTS = ("pydantic==2.14.4", "pyyaml==6.0.4")
READY = "hook-env-ready"  # written last: a half-made environment is never used

# The oldest cookiecutter that bakes this template right, found by baking with each release:
# before 2.7.0 a yes/no answer on the command line (`--no-input use_results=no`) reaches the
# templates as the text "no", which Jinja takes as true (a silently wrong project); before
# 2.2.0 every boolean does, and cookiecutter 1.x cannot load local_extensions.py at all.
MIN_COOKIECUTTER = "2.7.0"


class HookEnvError(Exception):
    """The environment could not be made; the message says what to do."""


def cookiecutter_version() -> str | None:
    """The running cookiecutter's release, from its package metadata.

    Not ``cookiecutter.__version__``: 2.7.0's says 2.6.0 and 2.2.0's says 2.1.2.dev0.
    """
    try:
        return importlib.metadata.version("cookiecutter")
    except importlib.metadata.PackageNotFoundError:  # a source checkout, say
        try:
            import cookiecutter
        except ImportError:
            return None
        return getattr(cookiecutter, "__version__", None)


def _release(version: str) -> tuple[int, ...] | None:
    """``"2.7.1"`` -> ``(2, 7, 1)``, ``"3"`` -> ``(3, 0, 0)``; a suffix (``rc1``) is ignored."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    if not match:
        return None
    parts = tuple(int(part) for part in match.group().split("."))
    return parts + (0,) * (3 - len(parts))


def cookiecutter_problem(version: str | None = None) -> str | None:
    """One line when the cookiecutter running the hooks is older than ``MIN_COOKIECUTTER``.

    ``version`` defaults to the running one; an unknown version is let through.
    """
    version = cookiecutter_version() if version is None else version
    release = _release(version) if version else None
    if release is None or release >= _release(MIN_COOKIECUTTER):
        return None
    return (
        f"cookiecutter {version} is too old for this template: it needs cookiecutter >= "
        f"{MIN_COOKIECUTTER} (older ones take a yes/no answer given on the command line, "
        "such as use_results=no, as yes). Upgrade: pip install -U cookiecutter (where cruft "
        "is installed, for cruft), or run uvx cookiecutter <template>"
    )


def have_pydantic() -> bool:
    return importlib.util.find_spec("pydantic") is not None


def cache_root() -> Path:
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "cookiecutter-django-dramatiq"


def base_python() -> str:
    """The interpreter under cookiecutter's venv (uvx's is ephemeral; its base is not)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def env_dir() -> Path:
    """One environment per pin set and Python (a venv is tied to its interpreter)."""
    key = "\n".join((*REQUIREMENTS, sys.version.split()[0], base_python()))
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_root() / f"hook-env-py{sys.version_info[0]}{sys.version_info[1]}-{digest}"


def python_in(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(command: list[str]) -> None:
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise HookEnvError(lines[-1] if lines else f"{command[0]} exited {proc.returncode}")


def _create(target: Path) -> None:
    uv = shutil.which("uv")
    if uv:
        _run([uv, "venv", "--quiet", "--python", base_python(), str(target)])
        install = [uv, "pip", "install", "--quiet", "--python", str(python_in(target))]
    else:
        _run([base_python(), "-m", "venv", str(target)])
        install = [str(python_in(target)), "-m", "pip", "install", "--quiet"]
        install += ["--disable-pip-version-check", "--retries", "1", "--timeout", "15"]
    _run([*install, *REQUIREMENTS])
    (target / READY).write_text("\n".join(REQUIREMENTS) + "\n")


def ensure(template: str = "<template>") -> Path:
    """The cached environment's Python, made first if needed (one progress line)."""
    env = env_dir()
    if (env / READY).is_file() and python_in(env).exists():
        return python_in(env)
    tool = "uv" if shutil.which("uv") else "python -m venv + pip"
    print(
        f"Installing {', '.join(REQUIREMENTS)} for the answer checks into {env} "
        f"({tool}; once, reused by later bakes)",
        file=sys.stderr,
    )
    env.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f"{env.name}-", dir=env.parent))
    try:
        _create(building)
        if not (env / READY).is_file():  # another bake may have finished first
            shutil.rmtree(env, ignore_errors=True)
            building.rename(env)
    except (HookEnvError, OSError) as exc:
        raise HookEnvError(
            f"pydantic is needed to check the answers and could not be installed into "
            f"{env} ({exc}). Connect to PyPI and run cookiecutter again, or run it with "
            f"pydantic beside it: uvx --with pydantic cookiecutter {template}"
        ) from None
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return python_in(env)
