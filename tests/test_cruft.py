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
