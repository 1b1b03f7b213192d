"""Jinja filters that turn prompt answers into Python literals.

Answers arrive as strings ("2") under ``--no-input`` and may be anything a user typed. The
filters never raise: a bad answer still renders to valid Python (as a string), so the post-gen
hook can load the generated config models and report every problem with the prompt's name.
"""

import json
import re

from jinja2.ext import Extension

_INTEGER = re.compile(r"[+-]?\d+")


def py(value):
    """Render an answer as a Python literal: int when it is one, else a quoted string."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return str(value)
    text = str(value).strip()
    if _INTEGER.fullmatch(text):
        return str(int(text))
    return json.dumps(text)


def py_items(value):
    """Split a comma-separated answer into Python string literals, one per item."""
    return [json.dumps(item.strip()) for item in str(value).split(",")]


class PythonLiterals(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["py"] = py
        environment.filters["py_items"] = py_items
