"""cruft works with this template: create, check, and update that brings in a template change.

cruft renders with cookiecutter's ``generate_files`` itself: it never runs the pre_prompt hook
and its context has no ``_repo_dir``, so the hooks find the template folder through
``local_extensions.template_dir()``. cruft clones a git repository, so the template's
working tree (uncommitted edits included) is committed into a fresh one first.
"""

import shutil

import pytest

from conftest import BIN, TEMPLATE, run

CRUFT = BIN / "cruft"
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com"]
GIT += ["-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]
# Left out of the copy: git's own folder and caches (the copy's .gitignore drops the rest).
NOT_TEMPLATE = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".*_cache", ".hypothesis")
MARKER = "A line added to the template after the project was made."


def commit(repo, message: str) -> None:
    run([*GIT, "add", "-A"], cwd=repo)
    run([*GIT, "commit", "-q", "-m", message], cwd=repo)


@pytest.fixture
def template_repo(tmp_path):
    """A git repository holding the template's working tree, one commit."""
    repo = tmp_path / "template"
    shutil.copytree(TEMPLATE, repo, ignore=NOT_TEMPLATE, symlinks=True)
    run([*GIT, "init", "-q"], cwd=repo)
    commit(repo, "template")
    return repo


def test_cruft_create_check_and_update(template_repo, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    run([CRUFT, "create", "--no-input", "--output-dir", out, template_repo], timeout=120)
    project = out / "my_project"
    # What the post-gen hook adds, from the template folder: the lock, secrets, settings.
    assert 'name = "my-project"' in (project / "uv.lock").read_text()
    assert "DJANGO_SECRET_KEY=" in (project / ".env").read_text()
    assert "up to date" in run([CRUFT, "check"], cwd=project).stdout

    run([*GIT, "init", "-q"], cwd=project)
    commit(project, "baked")
    manage = project / "manage.py"
    users_own = manage.read_text() + "# the user's own line\n"
    manage.write_text(users_own)
    commit(project, "the user's edit")

    readme = template_repo / "{{cookiecutter.project_slug}}" / "README.md"
    first, rest = readme.read_text().split("\n", 1)
    readme.write_text(f"{first}\n\n{MARKER}\n{rest}")
    commit(template_repo, "a change to a generated file")
    assert run([CRUFT, "check"], cwd=project, check=False).returncode != 0

    before = (project / "README.md").read_text()
    update = run(
        [CRUFT, "update", "--skip-apply-ask", "--allow-untracked-files"], cwd=project, timeout=120
    )
    # A clean three-way merge: no fallback to --reject, no *.rej files. Every render writes a
    # fresh .env, so without `.env` in cruft's skip list `git apply -3` fails on it and cruft
    # falls back to --reject, leaving .env.rej (old and new secrets, not git-ignored).
    output = update.stdout + update.stderr
    assert "Failed to apply" not in output, (
        "cruft fell back from a three-way merge (a fresh .env per render needs `.env` in the "
        f"project's [tool.cruft] skip):\n{output}"
    )
    # git apply -3 stages what it merges: compare paths, not the index/worktree columns.
    status = run(["git", "status", "--porcelain"], cwd=project).stdout.splitlines()
    assert sorted(line[3:] for line in status) == [".cruft.json", "README.md"], (
        f"{status}: only the changed file and .cruft.json may change (a fresh .env per render "
        "needs `.env` in the project's [tool.cruft] skip)"
    )
    after = (project / "README.md").read_text()
    first, rest = before.split("\n", 1)
    assert after == f"{first}\n\n{MARKER}\n{rest}"
    assert manage.read_text() == users_own
    head = run(["git", "rev-parse", "HEAD"], cwd=template_repo).stdout.strip()
    assert f'"commit": "{head}"' in (project / ".cruft.json").read_text()
    assert run([CRUFT, "check"], cwd=project).returncode == 0


def test_a_runtime_change_reaches_a_project_through_cruft_update(template_repo, tmp_path):
    """The template's runtime package changes (code and version, locks re-made); `cruft
    update` brings exactly that: the package folder and uv.lock, the user's files untouched,
    and the project's own suite passes on the new runtime, installed from the lock."""
    out = tmp_path / "out"
    out.mkdir()
    run([CRUFT, "create", "--no-input", "--output-dir", out, template_repo], timeout=120)
    project = out / "my_project"
    run([*GIT, "init", "-q"], cwd=project)
    commit(project, "baked")
    environments = project / "my_project" / "config" / "environments.py"
    users_own = environments.read_text().replace('"threads": 4,', '"threads": 3,', 1)
    assert users_own != environments.read_text()
    environments.write_text(users_own)
    run([BIN / "python", "manage.py", "taskconfig", "--readme"], cwd=project)  # as documented
    readme = (project / "README.md").read_text()
    assert "| `tasks.dramatiq.threads` | `3` | `16` |" in readme
    commit(project, "the user's own value")

    runtime = template_repo / "{{cookiecutter.project_slug}}" / "packages" / "dramatiq_runtime"
    pyproject = runtime / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.1.1"'))
    init = runtime / "dramatiq_runtime" / "__init__.py"
    init.write_text(init.read_text() + "\nUPGRADED = True\n")
    # The maintainers' step after a package change: every shipped lock records the version.
    run([BIN / "python", template_repo / "scripts" / "lock.py"], cwd=template_repo, timeout=300)
    commit(template_repo, "dramatiq-runtime 0.1.1")

    run([CRUFT, "update", "--skip-apply-ask", "--allow-untracked-files"], cwd=project, timeout=120)
    status = run(["git", "status", "--porcelain"], cwd=project).stdout.splitlines()
    assert sorted(line[3:] for line in status) == [
        ".cruft.json",
        "packages/dramatiq_runtime/dramatiq_runtime/__init__.py",
        "packages/dramatiq_runtime/pyproject.toml",
        "uv.lock",
    ]
    assert environments.read_text() == users_own
    assert (project / "README.md").read_text() == readme
    assert 'name = "dramatiq-runtime"\nversion = "0.1.1"' in (project / "uv.lock").read_text()

    # Installed as the image and CI install it, from the updated lock; then the suite.
    run([BIN / "uv", "sync", "--locked", "--quiet"], cwd=project, timeout=600)
    python = project / ".venv" / "bin" / "python"
    code = "import importlib.metadata as m, dramatiq_runtime as r; "
    code += "print(m.version('dramatiq-runtime'), r.UPGRADED)"
    assert run([python, "-c", code], cwd=project).stdout.split() == ["0.1.1", "True"]
    env = {
        "TASKS_NAMESPACE": f"cruft-{tmp_path.name}",
        "CACHE_KEY_PREFIX": f"cruft-{tmp_path.name}-cache",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/template_cruft_upgrade",
    }
    suite = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env)
    summary = suite.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary
    print(f"after cruft update to dramatiq-runtime 0.1.1: {summary}")
