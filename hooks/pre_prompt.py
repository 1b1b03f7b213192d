"""Before any question: make sure the answers can be checked with pydantic.

When cookiecutter's Python has no pydantic, ``hook_env.py`` (beside ``cookiecutter.json``)
makes a cached environment of its own with it, once, so a plain ``pip install
cookiecutter`` (or ``uvx cookiecutter``, ``pipx run cookiecutter``) bakes; offline and with
no cache, one line says what is missing and how to fix it, before any prompt. A cookiecutter
older than the template needs is refused here too, before the user answers anything.
"""

import sys
from pathlib import Path

# cookiecutter runs this from its copy of the template, hooks/ beside hook_env.py.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hook_env  # noqa: E402


def main() -> int:
    if problem := hook_env.cookiecutter_problem():
        print(problem, file=sys.stderr)
        return 1
    if hook_env.have_pydantic():
        return 0
    try:
        hook_env.ensure()
    except hook_env.HookEnvError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
