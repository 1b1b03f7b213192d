"""Naming rules shared by the config models and a template's hooks.

Plain functions over the standard library, so the hook can load this file on its own before
the project exists. Each returns the rule a value breaks, or None.
"""

import keyword
import re
import sys

SLUG_RULE = (
    "must be a lower-case Python identifier that is not a keyword and does not shadow "
    "a standard-library, Django, Dramatiq or other dependency module"
)
QUEUE_PATTERN = r"[a-z][a-z0-9_-]*"
EMAIL_PATTERN = r"[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+"
DOMAIN_PATTERN = (
    r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)

# Modules a project package must not shadow: the generated project imports all of them.
DEPENDENCY_MODULES = frozenset(
    {
        "config",
        "django",
        "django_dramatiq",
        "dramatiq",
        "gunicorn",
        "prometheus_client",
        "psycopg",
        "pydantic",
        "pydantic_core",
        "pydantic_settings",
        "pytest",
        "redis",
        "settings",
        "tasks",
        "tests",
        "yaml",
    }
)


def comma_separated(value):
    """Environment variables and prompts give lists as "a,b,c"; other values pass."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")] if value.strip() else []
    return value


def example_actor_name(queue: str) -> str:
    """The template writes one example actor per queue: ``<queue>_example``, '-' as '_'."""
    return f"{queue.replace('-', '_')}_example"


def slug_problem(slug: str) -> str | None:
    reserved = set(sys.stdlib_module_names) | DEPENDENCY_MODULES
    if (
        not slug.isidentifier()
        or not slug.isascii()
        or slug != slug.lower()
        or keyword.iskeyword(slug)
        or slug in reserved
    ):
        return SLUG_RULE
    return None


def queue_problem(name: str) -> str | None:
    if not re.fullmatch(QUEUE_PATTERN, name):
        return f"queue names must match {QUEUE_PATTERN}"
    return None


def example_actor_problem(queues: list[str]) -> str | None:
    """Queues whose example actors (``example_actor_name``) would share one name."""
    by_actor: dict[str, list[str]] = {}
    for name in dict.fromkeys(queues):
        by_actor.setdefault(example_actor_name(name), []).append(name)
    clashes = [" and ".join(names) for names in by_actor.values() if len(names) > 1]
    if clashes:
        return (
            "queue names must differ with '-' read as '_' (each gets an example actor "
            f"named after it): {'; '.join(clashes)}"
        )
    return None


def email_problem(address: str) -> str | None:
    if not re.fullmatch(EMAIL_PATTERN, address):
        return "must be an e-mail address like name@example.com"
    return None


def domain_problem(domain: str) -> str | None:
    if not re.fullmatch(DOMAIN_PATTERN, domain):
        return "must be a domain name like example.com (letters, digits, hyphens, dots)"
    return None
