"""Every combination of the option prompts bakes into a clean, checkable project."""

import hashlib
import itertools
import json
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from compose_native import compose_config, validate
from engine import figure
from kubernetes_checks import build, config_facts, consistency_problems, schema_problems

from conftest import (
    BIN,
    GITHUB_WORKFLOW,
    PYTHON,
    TEMPLATE,
    foreign_documents,
    production_env,
    run,
    unrendered_jinja,
)

OFFERED_PYTHONS = json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"]
PYTHON_VERSIONS = ["3.14", "3.11", "3.13"]
assert sorted(PYTHON_VERSIONS) == sorted(OFFERED_PYTHONS)  # the matrix turns through each
# Every combination of the options that change code; python_version (the Dockerfile's
# base image and CI's Python, nothing else) turns with them, so each version meets
# several combinations without tripling the matrix (48 bakes took ~8 minutes of CI).
MATRIX = [
    (*options, PYTHON_VERSIONS[index % len(PYTHON_VERSIONS)])
    for index, options in enumerate(
        itertools.product(
            ["postgresql", "sqlite"],  # database
            [True, False],  # use_results
            [True, False],  # prometheus_enabled
            [True, False],  # admin_enabled
        )
    )
]

# Imports the config the way the post-gen hook does: with Django, Dramatiq and redis
# unimportable, so any import of them fails the bake instead of passing by accident.
WITHOUT_DJANGO = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"django", "dramatiq", "django_dramatiq", "redis"}:
            raise ImportError(f"blocked: {name}")
sys.meta_path.insert(0, Block())
sys.path.insert(0, "packages/dramatiq_runtime")  # the bake's own copy, as the hook loads it
from SLUG import config
config.DevConfig.model_validate({}, context={"check_imports": False})
assert not [m for m in sys.modules if m.split(".")[0] in {"django", "dramatiq"}]
print("config imported without Django")
"""


# One cache per xdist worker: a warm cache (Django's stubs) takes mypy from ~11 s to ~4 s
# a bake, and two processes never write the same cache.
MYPY_CACHE = (
    Path(tempfile.gettempdir()) / f"mypy-bakes-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
)


def mypy_cache(project: Path) -> Path:
    """The cache for this bake's mypy configuration: mypy keeps a module's cached errors
    when only another module's options changed (an import newly ignored), so a cache
    made under an older configuration would report errors fixed since."""
    text = (project / "pyproject.toml").read_text()
    mypy = text[text.index("[tool.mypy]") : text.index("[tool.pytest")]
    return MYPY_CACHE / hashlib.sha1(mypy.encode()).hexdigest()[:12]


TEMPLATE_PACKAGES = TEMPLATE / "{{cookiecutter.project_slug}}" / "packages"


def runtime_files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_matrix_is_large_enough():
    assert len(MATRIX) >= 12
    assert {combo[-1] for combo in MATRIX} == set(PYTHON_VERSIONS)


@pytest.mark.parametrize(
    ("database", "use_results", "prometheus", "admin", "python_version"),
    MATRIX,
    ids=["-".join(map(str, combo)) for combo in MATRIX],
)
def test_bake(bake, database, use_results, prometheus, admin, python_version):
    # use_scheduler follows Prometheus (off with it), use_opentelemetry results and
    # use_sentry the admin: each value meets every other option without doubling the matrix.
    use_scheduler = not prometheus
    project = bake(
        database=database,
        use_results=use_results,
        prometheus_enabled=prometheus,
        admin_enabled=admin,
        python_version=python_version,
        use_scheduler=use_scheduler,
        use_opentelemetry=use_results,
        use_sentry=admin,
    )
    slug = project.name
    assert (project / slug / "config" / "__init__.py").is_file()
    # The runtime is the same in every bake: the template's folder, copied unrendered.
    assert runtime_files(project / "packages") == runtime_files(TEMPLATE_PACKAGES)
    services = compose_config(project, "compose.prod.yaml")["services"]
    assert ("scheduler" in services) == use_scheduler
    # The runtime's extras are the answers' (one lock per set: install_lock found it).
    chosen = {
        "opentelemetry": use_results,
        "prometheus": prometheus,
        "scheduler": use_scheduler,
        "sentry": admin,
    }
    extras = ",".join(name for name, on in chosen.items() if on)
    runtime = f'"dramatiq-runtime[{extras}]",' if extras else '"dramatiq-runtime",'
    assert runtime in (project / "pyproject.toml").read_text()
    assert unrendered_jinja(project) == []
    assert foreign_documents(project) == []

    run([BIN / "ruff", "check", "--no-cache", "."], cwd=project)
    run([BIN / "ruff", "format", "--check", "--no-cache", "."], cwd=project)
    run([BIN / "mypy", "--cache-dir", mypy_cache(project)], cwd=project)

    out = run([PYTHON, "-c", WITHOUT_DJANGO.replace("SLUG", slug)], cwd=project)
    assert "config imported without Django" in out.stdout

    for compose_file in ("compose.yaml", "compose.prod.yaml"):
        validate(project, compose_file)
    run([BIN / "hadolint", "Dockerfile"], cwd=project)
    run([BIN / "check-jsonschema", *GITHUB_WORKFLOW, ".github/workflows/ci.yml"], cwd=project)
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    legs = workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    assert legs[0] == python_version and sorted(legs) == sorted(OFFERED_PYTHONS), legs
    dependabot = ["--builtin-schema", "vendor.dependabot", ".github/dependabot.yml"]
    run([BIN / "check-jsonschema", *dependabot], cwd=project)
    assert (project / "uv.lock").is_file()  # the shipped lock of this dependency set
    run([BIN / "pre-commit", "validate-config", ".pre-commit-config.yaml"], cwd=project)

    # Kubernetes: the overlay builds, every object validates, and says what the config says.
    objects = build(project)
    assert schema_problems(objects) == []
    assert consistency_problems(objects, config_facts(project)) == []
    kinds = sorted({obj["kind"] for obj in objects})
    counts = ", ".join(f"{sum(o['kind'] == kind for o in objects)} {kind}" for kind in kinds)
    options = f"{database} results={use_results} prometheus={prometheus} admin={admin}"
    figure(f"kubernetes {options} scheduler={use_scheduler}: {len(objects)} objects: {counts}")

    dev = run([PYTHON, "manage.py", "check"], cwd=project)
    assert "no issues" in dev.stdout

    deploy = run(
        [PYTHON, "manage.py", "check", "--deploy"], cwd=project, env=production_env(project)
    )
    assert "System check identified no issues (0 silenced)." in deploy.stdout


def test_unrendered_jinja_is_found(bake):
    """The check the matrix relies on fails on a planted, unrendered expression."""
    project = bake()
    assert unrendered_jinja(project) == []
    planted = project / project.name / "planted.py"
    planted.write_text('VALUE = "ok"\nNAME = "{{ cookiecutter.x }}"\n')
    # Django's templates keep their {% %}; a cookiecutter expression there is still found.
    admin = "dramatiq_runtime/templates/admin/tasks/index.html"
    django = project / "packages" / "dramatiq_runtime" / admin
    text = django.read_text()
    assert "{% extends" in text
    django.write_text(text + "{{ cookiecutter.y }}\n")
    line = len(text.splitlines()) + 1
    found = unrendered_jinja(project)
    assert found[0] == f'{project.name}/planted.py:2: NAME = "{{{{ cookiecutter.x }}}}"'
    assert found[1:] == [f"packages/dramatiq_runtime/{admin}:{line}: {{{{ cookiecutter.y }}}}"]


def test_foreign_documents_are_found(bake):
    """The check the matrix relies on finds a planted mention of a document users lack."""
    project = bake()
    note = project / project.name / "settings.py"
    note.write_text(note.read_text() + "# as the field notes say\n")
    assert foreign_documents(project) == [f"{project.name}/settings.py: field notes"]


def test_type_check_finds_a_planted_error(bake):
    """mypy in the matrix checks the project's settings and config, not an empty file list."""
    project = bake()
    planted = project / project.name / "planted.py"
    planted.write_text(
        "from django.conf import settings\n\n"
        "WORKERS: str = settings.CONFIG.tasks.dramatiq.processes\n"
    )
    out = run([BIN / "mypy", "--cache-dir", mypy_cache(project)], cwd=project, check=False)
    assert out.returncode == 1
    assert (
        'planted.py:3: error: Incompatible types in assignment (expression has type "int"'
        in out.stdout
    )
