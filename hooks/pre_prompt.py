"""Before any question: the post-gen hook validates answers with pydantic, so it must be here."""

import sys

try:
    import pydantic  # noqa: F401
except ImportError:
    print(
        "This template validates your answers with pydantic, which is not installed next to\n"
        f"cookiecutter (its Python: {sys.executable}). Run cookiecutter with it, e.g.:\n"
        "    uvx --with pydantic cookiecutter <template>\n"
        "    pipx inject cookiecutter pydantic   # then: cookiecutter <template>\n"
        f"    {sys.executable} -m pip install pydantic",
        file=sys.stderr,
    )
    sys.exit(1)
