"""Your environments (``config/environments.py``): each loads, and production refuses
what it must. The models' own rules are tested with the ``dramatiq_runtime`` package.
"""

{% if cookiecutter.use_sentry -%}
import os
{% endif -%}
import subprocess
import sys
from pathlib import Path

import pytest
from dramatiq_runtime.config import ConfigError, reference
from dramatiq_runtime.config.stand_ins import PRODUCTION_STAND_INS

from {{ cookiecutter.project_slug }}.config import (
    ENVIRONMENTS,
    DevConfig,
    ProdConfig,
    TestConfig,
    load_config,
)
from {{ cookiecutter.project_slug }}.tasks import actors

PROJECT = Path(__file__).resolve().parents[1]
PRODUCTION = {"DJANGO_ENV": "production", **PRODUCTION_STAND_INS}


def test_each_environment_loads_with_its_own_values():
    for name, config_class in ENVIRONMENTS.items():
        environ = PRODUCTION if name == "production" else {"DJANGO_ENV": name}
        config = load_config(environ=environ)
        assert type(config) is config_class
        profile = config_class.profile["tasks"]["dramatiq"]
        for key in ("processes", "threads", "queues"):
            if key in profile:
                assert getattr(config.tasks.dramatiq, key) == profile[key], (name, key)
    assert not load_config(environ=PRODUCTION).debug
    assert TestConfig().tasks.namespace != DevConfig().tasks.namespace


def test_every_queue_has_its_example_actor():
    for queue in DevConfig().tasks.dramatiq.queues:
        actor = getattr(actors, f"{queue.replace('-', '_')}_example")
        assert actor.queue_name == queue


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY='': is required in production"),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS=.*at least one host"),
        ({"REDIS_URL": "redis://redis:6379"}, "REDIS_URL=.*needs a password"),
    ],
)
def test_production_refuses_unsafe_values(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(environ={**PRODUCTION, **override})


def test_production_passes_djangos_deployment_checks():
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env={**PRODUCTION, "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert isinstance(load_config(environ=PRODUCTION), ProdConfig)


def test_readme_lists_every_setting():
    """README's table is the models' own (run `manage.py taskconfig --readme` to update)."""
    readme = (PROJECT / "README.md").read_text()
    assert reference.render(readme, ENVIRONMENTS) == readme, (
        "run: python manage.py taskconfig --readme"
    )
{%- if cookiecutter.use_kubernetes %}


def test_kubernetes_manifests_are_made_from_the_config():
    """deploy/kubernetes/base says what ProdConfig says (run `manage.py kubernetes`)."""
    from django.core.management import call_command

    call_command("kubernetes", "--check")
{%- endif %}
{%- if cookiecutter.use_opentelemetry %}


def test_sends_carry_their_trace():
    """Tracing is on (use_opentelemetry): a send made inside a span writes the span's
    W3C context into the message, as a worker will continue it."""
    from opentelemetry import trace

    tracer = trace.get_tracer(__name__)
    with tracer.start_as_current_span("test") as span:
        message = actors.default_example.send({"traced": True})
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert message.options["traceparent"].split("-")[1] == trace_id
{%- endif %}
{%- if cookiecutter.use_sentry %}


def test_sentry_starts_where_a_dsn_is_set():
    """use_sentry: sentry-sdk is installed and set up by the settings once SENTRY_DSN is."""
    code = "import sentry_sdk; print(sentry_sdk.is_initialized())"
    env = {**os.environ, "DJANGO_ENV": "test", "SENTRY_DSN": "http://key@127.0.0.1:9/1"}
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True"
{%- endif %}
