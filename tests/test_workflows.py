"""The template's own GitHub Actions workflow is valid; the validator does refuse bad ones."""

from conftest import BIN, GITHUB_WORKFLOW, TEMPLATE, run


def test_template_workflow_is_valid():
    run([BIN / "check-jsonschema", *GITHUB_WORKFLOW, ".github/workflows/tests.yml"], cwd=TEMPLATE)


def test_a_workflow_without_runs_on_is_refused(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  test:\n    steps:\n      - run: pytest\n")
    proc = run([BIN / "check-jsonschema", *GITHUB_WORKFLOW, broken], check=False)
    assert proc.returncode != 0
    assert "runs-on" in proc.stdout + proc.stderr
