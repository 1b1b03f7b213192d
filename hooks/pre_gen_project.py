"""Before any file is written: refuse a package name that would break or shadow imports.

The rule lives in the generated project's ``config/names.py``; it is loaded from the template
here so the slug is judged by the same code the project's config models use.
"""

import importlib.util
import sys
from pathlib import Path

SLUG = {{ cookiecutter.project_slug | tojson }}
NAMES = (
    Path({{ cookiecutter._repo_dir | tojson }})
    / "{% raw %}{{cookiecutter.project_slug}}/{{cookiecutter.project_slug}}{% endraw %}"
    / "config"
    / "names.py"
)


def main() -> int:
    spec = importlib.util.spec_from_file_location("template_names", NAMES)
    names = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(names)
    if problem := names.slug_problem(SLUG):
        print(f"project_slug = {SLUG!r}: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
