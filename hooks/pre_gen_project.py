"""Before any file is written: refuse a too-old cookiecutter and a package name that would
break or shadow imports.

The version rule lives in ``hook_env.py`` (pre_prompt checks it too, but cookiecutter before
2.4 and cruft never run pre_prompt). The slug rule lives in the generated project's
``config/names.py``; it is loaded from the template (by ``local_extensions.load_names``) so
the slug is judged by the same code the project's config models use. Importable as it is in
the template (rendered values sit inside strings), for the template's tests.
"""

import importlib.util
import json
import sys
from pathlib import Path

# cookiecutter renders this to a JSON object (in a string, valid Python unrendered too).
# template_dir() comes from local_extensions.py: cruft's context has no _repo_dir.
RENDERED = r"""{{ {"slug": cookiecutter.project_slug, "template": template_dir()} | tojson }}"""


def template_module(template: Path, filename: str):
    """A module of the template's own (``local_extensions.py``, ``hook_env.py``), by path."""
    name = f"template_{filename.removesuffix('.py')}"
    spec = importlib.util.spec_from_file_location(name, template / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(slug: str, template: Path) -> int:
    if problem := template_module(template, "hook_env.py").cookiecutter_problem():
        print(problem, file=sys.stderr)
        return 1
    # The project's config/names.py, as the template's Jinja filters load it.
    names = template_module(template, "local_extensions.py").names
    if problem := names.slug_problem(slug):
        print(f"project_slug = {slug!r}: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    rendered = json.loads(RENDERED)
    sys.exit(main(rendered["slug"], Path(rendered["template"])))
