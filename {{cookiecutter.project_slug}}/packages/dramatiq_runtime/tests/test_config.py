"""The typed config: every field's bounds, env and YAML layering, messages."""

from io import StringIO

import pytest
from django.core.management import call_command
from dramatiq.middleware import AgeLimit, Retries, TimeLimit
from dramatiq_runtime.config import (
    CacheConfig,
    ConfigError,
    DjangoConfig,
    DramatiqConfig,
    TaskConfig,
    env_names,
    reference,
)
from dramatiq_runtime.config.kubernetes import GRACE_MARGIN_SECONDS
from dramatiq_runtime.config.middleware import switched
from dramatiq_runtime.config.stand_ins import PRODUCTION_STAND_INS
from dramatiq_runtime.middleware import build_stack
from pydantic import ValidationError
from testproject.config import (
    ENVIRONMENTS,
    DevConfig,
    ProdConfig,
    TestConfig,
    load_config,
)

from .helpers import run_python

PRODUCTION = {"DJANGO_ENV": "production", **PRODUCTION_STAND_INS}
DEV_REDIS = DevConfig.profile["cache_default"]["redis_url"]
SECRET = PRODUCTION["DJANGO_SECRET_KEY"]


@pytest.mark.parametrize(
    ("field", "bad", "good"),
    [
        ("processes", 0, 1),
        ("processes", 33, 32),
        ("threads", 0, 1),
        ("threads", 65, 64),
        ("max_retries", -1, 0),
        ("min_backoff", 99, 100),
        ("max_backoff", 999, 1000),
        ("max_age", 999, 1000),
        ("time_limit", 999, 1000),
    ],
)
def test_bounds(field, bad, good):
    assert getattr(DramatiqConfig(**{field: good}), field) == good
    with pytest.raises(ValidationError) as info:
        DramatiqConfig(**{field: bad})
    assert info.value.errors()[0]["loc"] == (field,)


def test_feature_page_defaults():
    config = DramatiqConfig()
    assert (config.processes, config.threads, config.queues) == (4, 8, ["default"])
    assert (config.max_retries, config.min_backoff, config.max_backoff) == (
        3,
        1000,
        30000,
    )
    assert config.max_age is None
    assert not config.prometheus_enabled and not config.admin_enabled
    task = TaskConfig()
    assert (task.broker_url, task.result_backend, task.enabled) == ("", None, True)


def test_feature_page_failing_example_reports_all_three():
    with pytest.raises(ValidationError) as info:
        DramatiqConfig(processes=100, threads=0, max_retries=-1)
    assert {e["loc"] for e in info.value.errors()} == {
        ("processes",),
        ("threads",),
        ("max_retries",),
    }


@pytest.mark.parametrize(
    "model", [CacheConfig, TaskConfig, DramatiqConfig, DjangoConfig]
)
def test_unknown_fields_rejected(model):
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        model(procesess=4)


def test_min_backoff_must_not_exceed_max_backoff():
    with pytest.raises(ValidationError, match=r"must be >= min_backoff \(5000\)"):
        DramatiqConfig(min_backoff=5000, max_backoff=2000)


@pytest.mark.parametrize(
    ("queues", "message"),
    [
        (["critical"], "must include 'default'"),
        (["default", "mail", "mail"], "repeated: mail"),
        (["default", "Mail"], "must match"),
        (["default", ""], "must match"),
    ],
)
def test_queue_rules(queues, message):
    with pytest.raises(ValidationError, match=message):
        DramatiqConfig(queues=queues)


def test_middleware_must_import_and_appear_once():
    with pytest.raises(ValidationError, match="cannot be imported"):
        DramatiqConfig(middleware=["myapp.middleware.TaskTimingMiddleware"])
    with pytest.raises(ValidationError, match="once"):
        DramatiqConfig(middleware=["dramatiq.middleware.Retries"] * 2)


def test_admin_and_prometheus_switches():
    admin = "django_dramatiq.middleware.AdminMiddleware"
    prometheus = "dramatiq.middleware.prometheus.Prometheus"
    assert admin not in switched(DramatiqConfig(admin_enabled=False))
    assert admin in switched(DramatiqConfig(admin_enabled=True))
    on = switched(DramatiqConfig(prometheus_enabled=True))
    assert on[0] == prometheus
    assert prometheus not in switched(DramatiqConfig())


def test_broker_and_results_derive_from_the_cache_server():
    config = DevConfig(
        cache_default={"redis_url": "redis://:pw@cache-host:6380", "db": 3},
        tasks={"use_results": True},
    )
    assert config.cache_default.url == "redis://:pw@cache-host:6380/3"
    broker_db, results_db = config.tasks.broker_db, config.tasks.results_db
    assert config.tasks.broker_url == f"redis://:pw@cache-host:6380/{broker_db}"
    assert config.tasks.result_backend == f"redis://:pw@cache-host:6380/{results_db}"


def test_feature_page_separate_databases_example():
    class MyConfig(DjangoConfig):
        cache_default: CacheConfig = CacheConfig(redis_url="redis://localhost:6379/0")
        tasks: TaskConfig = TaskConfig(
            broker_url="redis://localhost:6379/1",
            result_backend="redis://localhost:6379/2",
        )

    config = MyConfig()
    assert config.cache_default.url == "redis://localhost:6379/0"
    assert config.tasks.broker_url == "redis://localhost:6379/1"
    assert config.tasks.result_backend == "redis://localhost:6379/2"


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (
            {"tasks": {"broker_db": 0}, "cache_default": {"db": 0}},
            {("tasks", "broker_db"), ("cache_default", "db")},
        ),
        (
            {"tasks": {"results_db": 5, "broker_db": 5, "use_results": True}},
            {("tasks", "results_db"), ("tasks", "broker_db")},
        ),
        (
            {
                # The cache's own server (the profile's), database 0.
                "tasks": {"broker_url": f"{DEV_REDIS}/0"},
                "cache_default": {"db": 0},
            },
            {("tasks", "broker_url"), ("cache_default", "db")},
        ),
    ],
)
def test_redis_databases_must_differ(change, fields):
    """A collision is reported at both fields: either may be the one the user set."""
    with pytest.raises(ValidationError) as info:
        DevConfig(**change)
    errors = info.value.errors()
    assert {error["loc"] for error in errors} == fields
    assert all("each need their own database" in error["msg"] for error in errors)


def test_to_django_config_carries_the_model_values():
    task = TaskConfig(
        dramatiq=DramatiqConfig(
            max_retries=7,
            min_backoff=200,
            max_backoff=9000,
            max_age=5000,
            time_limit=4000,
        ),
    )
    settings = task.to_django_config(
        CacheConfig(redis_url="redis://localhost:6379", db=4)
    )
    broker = settings["DRAMATIQ_BROKER"]
    assert broker["OPTIONS"]["url"] == "redis://localhost:6379/1"
    built = build_stack(broker["MIDDLEWARE"])  # what settings.py hands django_dramatiq
    [retries] = [m for m in built if isinstance(m, Retries)]
    assert (retries.max_retries, retries.min_backoff, retries.max_backoff) == (
        7,
        200,
        9000,
    )
    [age] = [m for m in built if isinstance(m, AgeLimit)]
    assert age.max_age == 5000
    [limit] = [m for m in built if isinstance(m, TimeLimit)]
    assert limit.time_limit == 4000
    results = settings["DRAMATIQ_RESULT_BACKEND"]["BACKEND_OPTIONS"]
    assert results["url"] == "redis://localhost:6379/2"
    # get_result(block=True) waits up to a minute: not the 5 s every other client has.
    assert results["connection"]["socket_timeout"] == 60


def test_results_off_and_tasks_disabled():
    off = TaskConfig(use_results=False).to_django_config()["DRAMATIQ_RESULT_BACKEND"]
    assert off["BACKEND"] == "dramatiq_runtime.results_off.NoResults"
    assert off["BACKEND_OPTIONS"] == {}
    stub = TaskConfig(enabled=False).to_django_config()["DRAMATIQ_BROKER"]
    assert stub["BROKER"] == "dramatiq.brokers.stub.StubBroker"
    assert stub["OPTIONS"] == {}


def test_profiles_hold_the_answers():
    def answer(config_class, key):
        return config_class.profile["tasks"]["dramatiq"][key]

    assert DevConfig().tasks.dramatiq.processes == answer(DevConfig, "processes")
    assert DevConfig().tasks.dramatiq.threads == answer(DevConfig, "threads")
    assert TestConfig().tasks.dramatiq.processes == 1
    prod = ProdConfig(
        secret_key=SECRET, cache_default={"redis_url": "redis://:pw@r:6379"}
    )
    assert prod.tasks.dramatiq.processes == answer(ProdConfig, "processes")
    assert prod.tasks.dramatiq.max_retries == answer(ProdConfig, "max_retries")
    assert DevConfig().tasks.dramatiq.max_retries == 3  # DramatiqConfig's own default
    # A partial override keeps the rest of the profile.
    dev = DevConfig(tasks={"dramatiq": {"threads": 2}})
    assert dev.tasks.dramatiq.queues == DevConfig().tasks.dramatiq.queues


def test_environment_overrides():
    config = load_config(
        environ={
            "DJANGO_ENV": "development",
            "DRAMATIQ_PROCESSES": "3",
            "DRAMATIQ_THREADS": "5",
            "DRAMATIQ_QUEUES": "default,extra",
            "REDIS_URL": "redis://redis.internal:6379",
            "REDIS_CACHE_DB": "9",
        }
    )
    assert isinstance(config, DevConfig)
    assert (config.tasks.dramatiq.processes, config.tasks.dramatiq.threads) == (3, 5)
    assert config.tasks.dramatiq.queues == ["default", "extra"]
    assert config.cache_default.url == "redis://redis.internal:6379/9"


def test_yaml_file_under_environment(tmp_path):
    config_file = tmp_path / "config.yaml"
    config_file.write_text("tasks:\n  dramatiq:\n    processes: 6\n    threads: 7\n")
    environ = {"CONFIG_FILE": str(config_file), "DRAMATIQ_THREADS": "9"}
    config = load_config(environ=environ)
    assert (config.tasks.dramatiq.processes, config.tasks.dramatiq.threads) == (6, 9)


def test_bad_values_name_their_source(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(environ={"DRAMATIQ_PROCESSES": "100"})
    assert (
        str(info.value)
        == "DRAMATIQ_PROCESSES='100': Input should be less than or equal to 32"
    )

    config_file = tmp_path / "workers.yaml"
    config_file.write_text("tasks:\n  dramatiq:\n    threads: 0\n")
    with pytest.raises(ConfigError, match=r"workers.yaml:tasks.dramatiq.threads=0: "):
        load_config(environ={"CONFIG_FILE": str(config_file)})

    with pytest.raises(ConfigError, match="DJANGO_ENV='staging': must be one of"):
        load_config(environ={"DJANGO_ENV": "staging"})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY='': is required in production"),
        ({"DJANGO_SECRET_KEY": "short-but-unique"}, "at least 50 characters"),
        ({"DJANGO_SECRET_KEY": "django-insecure-" + "x1y2z3" * 10}, "development key"),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS=.*at least one host"),
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG=.*must be off"),
        ({"REDIS_URL": "redis://redis:6379"}, "REDIS_URL=.*needs a password"),
    ],
)
def test_production_refuses_unsafe_values(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_config(environ={**PRODUCTION, **environ})


def test_production_accepts_the_required_variables():
    config = load_config(environ=PRODUCTION)
    assert isinstance(config, ProdConfig)
    assert not config.debug


def test_passwords_never_shown():
    config = load_config(environ=PRODUCTION)
    dumped = str(config.masked_dump())
    assert ":stand-in@" not in dumped and SECRET not in dumped
    with pytest.raises(ConfigError) as info:
        load_config(environ={**PRODUCTION, "REDIS_URL": "ftp://:hunter2@x"})
    assert "hunter2" not in str(info.value)


SENTINELS = {
    "REDIS_SENTINELS": "s1:26379, s2:26379,s3:26379",
    "REDIS_SENTINEL_MASTER": "tasks",
}


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {**SENTINELS, "REDIS_SENTINELS": "s1:26379,s2"},
            "REDIS_SENTINELS='s1:26379,s2': .*'s2' must be host:port",
        ),
        (
            {**SENTINELS, "REDIS_SENTINELS": "s1:0"},
            "REDIS_SENTINELS='s1:0': .*must be host:port",
        ),
        (
            {"REDIS_SENTINELS": "s1:26379"},
            "REDIS_SENTINEL_MASTER='' .*: is required with REDIS_SENTINELS",
        ),
        (
            {**SENTINELS, "REDIS_SENTINEL_MASTER": "my master"},
            "REDIS_SENTINEL_MASTER='my master': must be the sentinels' service name",
        ),
        (
            {"REDIS_SENTINEL_MASTER": "tasks"},
            "REDIS_SENTINEL_MASTER='tasks': needs REDIS_SENTINELS",
        ),
        ({"REDIS_TLS": "true"}, "REDIS_TLS=.*with a URL, use rediss://"),
        (
            {**SENTINELS, "TASKS_BROKER_URL": "redis://:pw@elsewhere:6379/1"},
            "TASKS_BROKER_URL=.*must be empty with REDIS_SENTINELS",
        ),
        (
            {"REDIS_FAILOVER_TIMEOUT": "-1"},
            "REDIS_FAILOVER_TIMEOUT='-1': .*greater than or equal to 0",
        ),
        (
            {"REDIS_WAIT_REPLICAS": "99"},
            "REDIS_WAIT_REPLICAS='99': .*less than or equal to 16",
        ),
    ],
)
def test_the_redis_connection_is_checked(environ, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_config(environ=environ)
    assert ":pw@" not in str(info.value)


def test_sentinel_settings_reach_every_client_and_stay_hidden():
    environ = {
        **SENTINELS,
        "REDIS_PASSWORD": "hunter2",
        "REDIS_SENTINEL_PASSWORD": "s3cret",
    }
    config = load_config(environ=environ)
    options = config.redis.client_options()
    assert options["sentinels"] == [("s1", 26379), ("s2", 26379), ("s3", 26379)]
    assert (options["master"], options["password"]) == ("tasks", "hunter2")
    assert options["sentinel_password"] == "s3cret"
    django = config.tasks.to_django_config(config.cache_default, config.redis)
    broker = django["DRAMATIQ_BROKER"]["OPTIONS"]
    assert broker["connection"] == options and broker["failover_timeout"] == 15_000
    results = django["DRAMATIQ_RESULT_BACKEND"]["BACKEND_OPTIONS"]["connection"]
    assert results["sentinels"] == options["sentinels"]
    assert django["TASKS"]["default"]["OPTIONS"]["connection"] == options
    dumped = str(config.masked_dump())
    assert "hunter2" not in dumped and "s3cret" not in dumped
    # Production needs the servers' password: in the URL, or REDIS_PASSWORD with Sentinel.
    with pytest.raises(
        ConfigError, match="REDIS_PASSWORD=.*needs a password in production"
    ):
        load_config(environ={**PRODUCTION, **SENTINELS})
    assert load_config(environ={**PRODUCTION, **environ}).redis.uses_sentinel


def test_config_does_not_import_django_nor_dramatiq():
    """A project's config package and the runtime's models load with pydantic alone."""
    code = (
        "import sys; import dramatiq_runtime, dramatiq_runtime.config; "
        "import testproject.config as c; c.load_config(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'dramatiq'}))"
    )
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_settings_import_no_broker_and_setup_builds_it():
    """Settings are plain data: neither Dramatiq nor Redis until the apps load, and then
    the broker carries the middleware the config describes, as instances."""
    code = (
        "import sys, testproject.settings as s\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'dramatiq', 'django_dramatiq', 'redis'}))\n"
        "print(sorted({type(c).__name__ for c in s.DRAMATIQ_BROKER['MIDDLEWARE']}))\n"
        "import django, dramatiq; django.setup()\n"
        "from dramatiq.middleware import Retries\n"
        "[r] = [m for m in dramatiq.get_broker().middleware if isinstance(m, Retries)]\n"
        "print(r.max_retries, type(dramatiq.get_broker()).__module__)\n"
    )
    out = run_python(code, {"DRAMATIQ_MAX_RETRIES": "7"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "[]",
        "['Component']",
        "7 dramatiq_runtime.redis_backends",
    ]


@pytest.mark.parametrize("off_before", [False, True])
def test_the_collector_is_paused_while_django_sets_up(off_before):
    """Off from the settings import to the runtime app's ready(), then on again with
    setup's objects frozen; a process that had turned it off itself keeps it off."""
    code = (
        f"import gc\nif {off_before}: gc.disable()\n"
        "import testproject.settings\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 0)\n"
        "import django; django.setup()\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 10_000)\n"
    )
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    after = "False False" if off_before else "True True"
    assert out.stdout.splitlines() == ["False False", after]


def test_env_file_values_and_unrelated_keys(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("DRAMATIQ_THREADS=3\nDRAMATIQ_PROCESSES=99\nREDIS_PASSWORD=x\n")
    monkeypatch.setattr(ENVIRONMENTS, "env_file", env_file)
    monkeypatch.setenv("DRAMATIQ_PROCESSES", "100")
    monkeypatch.delenv("DJANGO_ENV", raising=False)
    monkeypatch.delenv("REDIS_PASSWORD", raising=False)  # compose's, in a container
    with pytest.raises(ConfigError) as info:  # the environment wins over .env
        load_config()
    assert str(info.value).startswith("DRAMATIQ_PROCESSES='100': ")
    monkeypatch.setenv("DRAMATIQ_PROCESSES", "2")
    config = load_config()  # REDIS_PASSWORD (compose's) is the servers' password
    assert (config.tasks.dramatiq.threads, config.tasks.dramatiq.processes) == (3, 2)
    assert config.redis.password and config.redis.password.get_secret_value() == "x"

    monkeypatch.delenv("DRAMATIQ_PROCESSES")
    with pytest.raises(ConfigError) as info:  # a bad .env value names the file
        load_config()
    assert str(info.value).startswith(".env:DRAMATIQ_PROCESSES='99': ")


def test_the_settings_table_is_the_models_own(tmp_path, settings):
    """``taskconfig --readme`` writes every variable with each environment's value."""
    readme = tmp_path / "README.md"
    before, after = "# A project\n\n", "\nafter\n"
    readme.write_text(f"{before}{reference.START}\nstale table\n{reference.END}{after}")
    settings.BASE_DIR = tmp_path
    out = StringIO()
    call_command("taskconfig", "--readme", stdout=out)
    assert str(readme) in out.getvalue()
    text = readme.read_text()
    assert text.startswith(before) and text.endswith(f"{reference.END}{after}")
    assert "stale table" not in text
    assert reference.render(text, ENVIRONMENTS) == text  # up to date: nothing to change
    rows = {
        line.split(" | ")[0]: line.split(" | ")
        for line in text.splitlines()
        if line.startswith("| `")
    }
    assert sorted(rows) == sorted(f"| `{name}`" for name in env_names().values())
    # The development and production columns are the environments' own values.
    dev, prod = DevConfig.profile["tasks"], ProdConfig.profile["tasks"]
    assert rows["| `DRAMATIQ_PROCESSES`"][2:4] == [
        f"`{dev['dramatiq']['processes']}`",
        f"`{prod['dramatiq']['processes']}`",
    ]
    assert rows["| `DRAMATIQ_QUEUES`"][2] == f"`{','.join(dev['dramatiq']['queues'])}`"


@pytest.mark.parametrize(
    ("change", "loc", "message"),
    [
        (
            {"kubernetes": {"termination_grace_seconds": 30}},
            ("kubernetes", "termination_grace_seconds"),
            "must exceed the worker shutdown timeout",
        ),
        (
            {"kubernetes": {"scaling": {"defualt": {}}}},
            ("kubernetes", "scaling"),
            "no such queue (configured: ",
        ),
        (
            {
                "kubernetes": {
                    "scaling": {"default": {"min_replicas": 5, "max_replicas": 2}}
                }
            },
            ("kubernetes", "scaling", "default"),
            "min_replicas (5) must not exceed max_replicas (2)",
        ),
    ],
)
def test_kubernetes_values_are_checked_against_the_workers(change, loc, message):
    with pytest.raises(ValidationError) as info:
        DevConfig(**change)
    errors = info.value.errors()
    assert [error["loc"] for error in errors] == [loc], errors
    assert message in errors[0]["msg"]


def test_the_grace_period_follows_the_shutdown_timeout_unless_set():
    config = DevConfig(tasks={"dramatiq": {"worker_shutdown_timeout": 45_500}})
    assert config.kubernetes.grace_seconds(45_500) == 46 + GRACE_MARGIN_SECONDS
    config = DevConfig(kubernetes={"termination_grace_seconds": 120})
    assert config.kubernetes.grace_seconds(60_000) == 120


@pytest.mark.parametrize(
    ("variable", "bad", "rule"),
    [
        ("TRACING_SAMPLE_RATIO", "1.5", "less than or equal to 1"),
        ("TRACING_SAMPLE_RATIO", "-0.1", "greater than or equal to 0"),
        ("TRACING_EXPORTER", "zipkin", "'otlp' or 'console'"),
        ("SENTRY_TRACES_SAMPLE_RATE", "2", "less than or equal to 1"),
        ("SENTRY_CHECKIN_MARGIN", "0", "greater than or equal to 1"),
    ],
)
def test_tracing_and_sentry_values_are_checked(variable, bad, rule):
    with pytest.raises(ConfigError, match=f"{variable}='{bad}': .*{rule}"):
        load_config(environ={"DJANGO_ENV": "test", variable: bad})


def test_tracing_and_sentry_follow_their_switches_and_hide_the_dsn():
    dsn = "https://secret-key@o1.ingest.sentry.io/42"
    config = load_config(
        environ={"DJANGO_ENV": "test", "TRACING_ENABLED": "true", "SENTRY_DSN": dsn}
    )
    assert config.tracing.enabled and config.sentry.enabled
    assert not load_config(environ={"DJANGO_ENV": "test"}).sentry.enabled
    assert "secret-key" not in str(config.masked_dump())
    stack = config.tasks.middleware_stack(tracing=True, sentry=True)
    paths = [component.path for component in stack]
    # Tracing first: its span is current in every other hook and ends after them all.
    assert paths[0] == "dramatiq_runtime.middleware.tracing.Tracing"
    assert "dramatiq_runtime.middleware.sentry_tags.SentryTags" in paths
    plain = [c.path for c in config.tasks.middleware_stack()]
    assert not {p for p in plain if "tracing" in p or "sentry" in p}
