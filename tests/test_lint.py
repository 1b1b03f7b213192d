"""The template's own Python (tests, pre-prompt hook, Jinja filters) is ruff-clean."""

from conftest import BIN, TEMPLATE, run

# Named, not ".": ruff reads every pyproject.toml it walks past, and the template's own is Jinja.
PATHS = ["hooks", "tests", "local_extensions.py", "benchmarks", "scripts"]


def test_template_code_is_ruff_clean():
    run([BIN / "ruff", "check", "--no-cache", *PATHS], cwd=TEMPLATE)
    run([BIN / "ruff", "format", "--check", "--no-cache", *PATHS], cwd=TEMPLATE)
