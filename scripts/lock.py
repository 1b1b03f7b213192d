"""Maintainers' helper: the uv.lock each baked project gets, one per dependency set.

The generated pyproject.toml depends on the database and the answers in the hook's
``LOCKED_ANSWERS`` (the runtime's extras): one dependency set per combination. Each is
baked under a placeholder name, locked with uv, and kept in ``locks/``; the post-gen hook
copies the one matching the answers into the project with the project's own name. A
bake then needs no network, and every project baked from one commit of the template
installs exactly the versions that commit's CI tested. ``--check`` fails when a lock no
longer matches its pyproject.

    python scripts/lock.py            # re-lock, keeping the pins pyproject still allows
    python scripts/lock.py --upgrade  # re-lock with the newest versions pyproject allows
    python scripts/lock.py --check    # the template's tests run this
"""

import argparse
import functools
import importlib.util
import itertools
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
LOCKS = TEMPLATE / "locks"


def post_gen_hook():
    """The hook holds the lock's file name and placeholder: one home for both."""
    path = TEMPLATE / "hooks" / "post_gen_project.py"
    spec = importlib.util.spec_from_file_location("post_gen_project", path)
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook


HOOK = post_gen_hook()
PLACEHOLDER = HOOK.LOCK_PLACEHOLDER


def variants():
    keys = [key for key, _ in HOOK.LOCKED_ANSWERS]
    for database in ("postgresql", "sqlite"):
        for values in itertools.product((False, True), repeat=len(keys)):
            answers = {"database": database, **dict(zip(keys, values, strict=True))}
            yield HOOK.lock_name(answers), answers


def bake(answers: dict, out: Path) -> Path:
    extra = [
        f"{key}={'yes' if value is True else 'no' if value is False else value}"
        for key, value in answers.items()
    ]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            str(TEMPLATE),
            "--no-input",
            "-o",
            str(out),
            f"project_slug={PLACEHOLDER}",
            *extra,
        ],
        check=True,
        capture_output=True,
    )
    return out / PLACEHOLDER


def uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    return found


def seed(lock: Path) -> None:
    """A new dependency set's lock starts as a copy of another: the hook refuses to bake
    without one, and ``uv lock`` then resolves what differs, keeping the shared pins."""
    if not lock.exists():
        shutil.copy(next(LOCKS.glob("*.lock")), lock)


def one(name: str, answers: dict, tmp: Path, check: bool, upgrade: bool) -> str | None:
    """Bake one dependency set and lock it (or check its lock); a stale lock's line."""
    if not check:
        seed(LOCKS / name)
    project = bake(answers, tmp / name)
    if check:
        proc = subprocess.run(
            [uv(), "lock", "--check", "--project", str(project)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            return f"{name}: {proc.stderr.strip().splitlines()[-1]}"
        return None
    command = [uv(), "lock", "--quiet", *(["--upgrade"] if upgrade else [])]
    subprocess.run([*command, "--project", str(project)], check=True)
    shutil.copy(project / "uv.lock", LOCKS / name)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail on a stale lock")
    parser.add_argument("--upgrade", action="store_true", help="newest versions")
    options = parser.parse_args()
    LOCKS.mkdir(exist_ok=True)
    found = list(variants())
    # A seed must exist before the threads copy it: the first set is locked alone.
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(4) as pool:
        lock = functools.partial(one, tmp=Path(tmp), check=options.check, upgrade=options.upgrade)
        stale = [lock(*found[0])]
        stale += pool.map(lambda variant: lock(*variant), found[1:])
    if not options.check:
        print("\n".join(f"locks/{name}" for name, _ in found))
    for line in filter(None, stale):
        print(f"stale lock {line} (run: python scripts/lock.py)", file=sys.stderr)
    return 1 if any(stale) else 0


if __name__ == "__main__":
    sys.exit(main())
