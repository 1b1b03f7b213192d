"""The README's prompt table, made from cookiecutter.json and its prompt help.

`python scripts/prompt_table.py --write` rewrites the table between the README's markers;
`--check` exits 1 when a prompt has no help text or the README's table is out of date (the
template's tests run the check, so a prompt cannot be added without its documentation).
"""

import argparse
import json
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
START, END = "<!-- prompts:start -->", "<!-- prompts:end -->"


def prompts(config: dict) -> list[str]:
    """The keys cookiecutter asks about (private `_x` and `__x` keys are not asked)."""
    return [key for key in config if not key.startswith("_")]


def problems(config: dict) -> list[str]:
    help_texts = config.get("__prompts__", {})
    found = []
    for key in prompts(config):
        text = help_texts.get(key)
        if isinstance(text, dict):
            text = text.get("__prompt__")
        if not text:
            found.append(f"{key}: no help text in cookiecutter.json's __prompts__")
    return found


def shown_default(value) -> str:
    if isinstance(value, list):
        return f"`{value[0]}`"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and "{{" in value:
        return "derived"
    return f"`{value}`" if value != "" else "(empty)"


def help_of(key: str, config: dict) -> str:
    text = config["__prompts__"][key]
    if isinstance(text, dict):
        options = "; ".join(
            f"`{choice}`: {label}" for choice, label in text.items() if choice != "__prompt__"
        )
        return f"{text['__prompt__']}. {options}"
    return text


def table(config: dict) -> str:
    lines = ["| prompt | default | what it sets |", "|---|---|---|"]
    for key in prompts(config):
        text = help_of(key, config).replace("|", "\\|")
        lines.append(f"| `{key}` | {shown_default(config[key])} | {text} |")
    return "\n".join(lines)


def render(readme: str, config: dict) -> str:
    before, rest = readme.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{table(config)}\n{END}{after}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true")
    action.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    config = json.loads((args.template / "cookiecutter.json").read_text())
    readme_path = args.template / "README.md"
    readme = readme_path.read_text()
    if found := problems(config):
        print("\n".join(found), file=sys.stderr)
        return 1
    wanted = render(readme, config)
    if args.write:
        readme_path.write_text(wanted)
        return 0
    if wanted != readme:
        print(
            "README.md's prompt table is out of date: run python scripts/prompt_table.py --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
