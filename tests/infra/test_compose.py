"""The production topology (docker-compose.yml and infra/), checked without Docker.

No Docker engine runs where these tests run, so they read the files that
``docker compose up`` would use and check their wiring against the one place
that knows the apps, ``fanfare.apps``: each container runs a command the
project really has, gets only the settings its app reads, answers on its app's
port and uses its app's own database; nginx routes ``/r/`` to referrals and
the rest to the gateway; PostgreSQL starts with one database per app.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml

from fanfare.apps import APPS, APPS_BY_NAME, AppSpec
from fanfare.cli import main as fanfare_cli

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "infra" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
INIT_SCRIPT = ROOT / "infra" / "postgres" / "init-databases.sh"
NGINX_CONF = ROOT / "infra" / "nginx" / "nginx.conf"

# DESIGN.md, "Conventions": the ports of the four apps.
DESIGN_PORTS = {"gateway": 8000, "content": 8001, "referrals": 8002, "rewards": 8003}

# What `docker compose up` is given in the documented deploy command.
DEPLOY_ENVIRONMENT = {"INTERNAL_TOKEN_SECRET": "i" * 48, "VISITOR_HASH_SECRET": "v" * 48}

# Settings that hold addresses people outside reach (through nginx), not services inside.
PUBLIC_URL_SETTINGS = ("CONTENT_PUBLIC_URL", "SHORT_LINK_BASE_URL")


# ---------------------------------------------------------------------------
# Reading docker-compose.yml
# ---------------------------------------------------------------------------


class RequiredVariableError(Exception):
    """A ``${NAME:?message}`` whose variable is not set."""


_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(value: str, environment: Mapping[str, str] = DEPLOY_ENVIRONMENT) -> str:
    """``value`` as compose sees it: ``${NAME:-default}``, ``${NAME:?error}``, ``$$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op") or "", match.group("arg") or ""
        current = environment.get(name)
        if current is not None and (current or not op.startswith(":")):
            return current
        if op.endswith("-"):
            return arg
        if op.endswith("?"):
            raise RequiredVariableError(f"{name}: {arg}")
        return ""

    return _VARIABLE.sub(replace, value)


def load_compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict), "docker-compose.yml is not a mapping"
    return loaded


def words_of(value: Any) -> list[str]:
    """A command (list or string form), interpolated and split into words."""
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(interpolate(value))
    return [interpolate(str(word)) for word in value]


def environment_of(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment, raw (before interpolation), from either form."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = [str(item).partition("=") for item in raw]
        return {key: value for key, _, value in pairs}
    return {str(key): "" if value is None else str(value) for key, value in raw.items()}


def depends_on_of(service: Mapping[str, Any]) -> dict[str, str]:
    """``{service: condition}``, from either form of ``depends_on``."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in raw.items()}


def shell_words(words: list[str]) -> list[str]:
    """The words a healthcheck test runs: ``CMD a b`` or ``CMD-SHELL "a b"``."""
    if words[:1] == ["CMD-SHELL"]:
        return shlex.split(" ".join(words[1:]))
    if words[:1] == ["CMD"]:
        return words[1:]
    return words


def option_value(words: list[str], *names: str) -> str | None:
    """The value of ``--name value`` or ``--name=value`` in ``words``."""
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def container_port(mapping: Any) -> int:
    """The container side of a ``ports``/``expose`` entry (``"8080:80"``, ``80``, long form)."""
    if isinstance(mapping, dict):
        return int(mapping["target"])
    text = interpolate(str(mapping)).split("/", 1)[0]
    return int(text.rsplit(":", 1)[-1])


@dataclass(frozen=True)
class Process:
    """What one container of the project image runs."""

    service: str
    kind: str  # "web", "worker", "relay", "migrate"
    app: AppSpec
    words: tuple[str, ...]

    @property
    def runs_beat(self) -> bool:
        return self.kind == "worker" and "--no-beat" not in self.words


def project_image_services(compose: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The services built from infra/Dockerfile, or running the image it builds."""
    services: dict[str, dict[str, Any]] = compose["services"]
    built = {
        name: service
        for name, service in services.items()
        if isinstance(service.get("build"), dict)
        and service["build"].get("dockerfile") == "infra/Dockerfile"
    }
    images = {service.get("image") for service in built.values()} - {None}
    return {
        name: service
        for name, service in services.items()
        if name in built or (service.get("image") in images)
    }


def process_of(name: str, service: Mapping[str, Any]) -> Process:
    """Which app a container belongs to and what it runs, told from its command."""
    words = words_of(service.get("command"))
    if words[:3] == ["python", "-m", "gunicorn"]:
        words = ["gunicorn", *words[3:]]
    if words and words[0] == "gunicorn":
        targets = [word for word in words if re.fullmatch(r"[\w.]+:\w+", word)]
        assert len(targets) == 1, f"{name}: gunicorn names {targets or 'no'} app target"
        matching = [spec for spec in APPS if spec.wsgi_target == targets[0]]
        assert matching, f"{name}: {targets[0]} is no app's WSGI target in fanfare.apps"
        return Process(name, "web", matching[0], tuple(words))
    if words[:2] in (["fanfare", "worker"], ["fanfare", "relay"], ["fanfare", "migrate"]):
        assert len(words) > 2, f"{name}: {' '.join(words)} names no app"
        assert words[2] in APPS_BY_NAME, f"{name}: {words[2]!r} is not an app in fanfare.apps"
        return Process(name, words[1], APPS_BY_NAME[words[2]], tuple(words))
    raise AssertionError(f"{name}: cannot tell what {words!r} runs (gunicorn or fanfare ...)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def processes(compose: dict[str, Any]) -> list[Process]:
    return [process_of(name, service) for name, service in project_image_services(compose).items()]


def web_service_of(processes: list[Process], app: AppSpec) -> Process:
    webs = [process for process in processes if process.kind == "web" and process.app == app]
    assert len(webs) == 1, f"{app.name}: {len(webs)} gunicorn services, expected exactly one"
    return webs[0]


def service_running_image(compose: Mapping[str, Any], image_prefix: str) -> str:
    names: list[str] = [
        str(name)
        for name, service in compose["services"].items()
        if str(service.get("image", "")).startswith(image_prefix)
    ]
    assert len(names) == 1, f"expected one service running {image_prefix}*, found {names}"
    return names[0]


# ---------------------------------------------------------------------------
# The file itself
# ---------------------------------------------------------------------------


def test_compose_file_loads_with_every_anchor_and_merge_resolved(compose: dict[str, Any]) -> None:
    # Given docker-compose.yml, which shares its repeated blocks through anchors
    # When it is loaded the way compose loads it (YAML 1.1 merge keys)
    services = compose.get("services")

    # Then there are services, every one of them has something to run,
    # and no merge key or extension field is left inside one
    assert isinstance(services, dict)
    assert services
    leftovers: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "<<" or str(key).startswith("x-"):
                    leftovers.append(f"{path}.{key}")
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")

    walk(services, "services")
    assert leftovers == []
    assert [name for name, service in services.items() if not service.get("image")] == []


def test_the_deploy_command_fails_loudly_when_a_secret_is_not_given(
    compose: dict[str, Any],
) -> None:
    # Given every *_SECRET variable set on the app containers
    secrets: dict[str, set[str]] = {}
    for service in project_image_services(compose).values():
        for name, value in environment_of(service).items():
            if name.endswith("_SECRET"):
                secrets.setdefault(name, set()).add(value)
    assert "INTERNAL_TOKEN_SECRET" in secrets

    for name, values in secrets.items():
        # When the variable is not set where `docker compose up` runs
        # Then compose refuses to start (`${NAME:?message}`) rather than use a
        # default, and every container that needs it gets the same one
        assert len(values) == 1, f"{name} differs between containers: {values}"
        (value,) = values
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", value), value
        with pytest.raises(RequiredVariableError):
            interpolate(value, {})


def test_every_app_accepts_the_settings_its_containers_get(
    compose: dict[str, Any], processes: list[Process], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given each container of the project image, in production mode
    for process in processes:
        settings_class = process.app.settings_class
        environment = environment_of(compose["services"][process.service])

        # When its app's settings are read from exactly that environment
        # (as deployed with the documented variables)
        with monkeypatch.context() as patch:
            for name in settings_class.env_var_names():
                patch.delenv(name, raising=False)
            for name, value in environment.items():
                patch.setenv(name, interpolate(value))
            try:
                settings = settings_class()
            except ValueError as exc:
                pytest.fail(f"{process.service}: {process.app.name} refuses its settings: {exc}")

        # Then the app starts in production mode rather than refusing them
        assert settings.environment == "production", process.service


# ---------------------------------------------------------------------------
# What each container runs
# ---------------------------------------------------------------------------


def test_every_container_of_the_project_image_runs_a_command_of_one_app(
    compose: dict[str, Any],
) -> None:
    # Given every service that runs the image built from infra/Dockerfile
    services = project_image_services(compose)

    # When its command is read
    kinds = {name: process_of(name, service).kind for name, service in services.items()}

    # Then each is a gunicorn app, a Celery worker, an outbox relay or a migration of a known app
    assert set(kinds.values()) == {"web", "worker", "relay", "migrate"}


def test_every_app_gets_a_web_server_its_migrations_and_its_workers(
    processes: list[Process],
) -> None:
    # Given the containers of the project image
    # When they are grouped by app
    # Then each app has exactly one web service and one migration, and workers
    # exactly where fanfare.apps says the app has Celery tasks, and there one
    # outbox relay process
    for spec in APPS:
        mine = [process for process in processes if process.app == spec]
        assert [p.kind for p in mine].count("web") == 1, spec.name
        assert [p.kind for p in mine].count("migrate") == 1, spec.name
        workers = [p for p in mine if p.kind == "worker"]
        assert bool(workers) == spec.has_worker, (spec.name, [p.service for p in workers])
        assert [p.kind for p in mine].count("relay") == int(spec.has_worker), spec.name


def test_gunicorn_serves_each_app_from_its_wsgi_module_with_threaded_workers(
    processes: list[Process],
) -> None:
    # Given each web service's gunicorn command line
    for process in (p for p in processes if p.kind == "web"):
        # When gunicorn's own option parser reads it
        config = importlib.import_module("gunicorn.config").Config(
            usage="%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn"
        )
        try:
            parsed = config.parser().parse_args(list(process.words[1:]))
        except SystemExit:
            pytest.fail(f"{process.service}: gunicorn rejects {' '.join(process.words)}")
        for key, value in vars(parsed).items():
            if value is not None and key != "args":
                config.set(key.lower(), value)

        # Then it serves the app's WSGI target with gthread workers on all interfaces
        assert parsed.args == [process.app.wsgi_target], process.service
        assert config.worker_class_str == "gthread", process.service
        assert config.threads > 1, process.service
        assert config.workers >= 1, process.service
        hosts = [ipaddress.ip_address(bind.rsplit(":", 1)[0]) for bind in config.bind]
        assert [host.is_unspecified for host in hosts] == [True], process.service


def test_every_fanfare_command_in_compose_is_accepted_by_the_fanfare_cli(
    processes: list[Process],
) -> None:
    # Given every `fanfare worker ...`, `fanfare relay ...` and `fanfare migrate ...` command
    commands = [p for p in processes if p.kind in ("worker", "relay", "migrate")]
    assert commands

    for process in commands:
        # When the fanfare CLI parses it (without running it)
        command = fanfare_cli.commands.get(process.kind)
        assert isinstance(command, click.Command), f"fanfare has no {process.kind!r} command"
        try:
            command.make_context(process.kind, list(process.words[2:]))
        except click.ClickException as exc:
            pytest.fail(f"{process.service}: {' '.join(process.words)}: {exc.format_message()}")

        # Then it names an app that has what the command needs
        if process.kind in ("worker", "relay"):
            assert process.app.has_worker, f"{process.service}: {process.app.name} has no worker"


_ENTRY_POINT_PROBE = """
import importlib, json, sys
from celery import Celery
results = {}
for argument in sys.argv[1:]:
    kind, _, target = argument.partition("=")
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        results[argument] = f"cannot import {module_name}: {exc!r}"
        continue
    value = getattr(module, attribute, None)
    if value is None:
        results[argument] = f"{module_name} has no attribute {attribute!r}"
    elif kind == "wsgi" and not callable(value):
        results[argument] = f"{target} is not a WSGI callable"
    elif kind == "celery" and not isinstance(value, Celery):
        results[argument] = f"{target} is a {type(value).__name__}, not a Celery app"
    else:
        results[argument] = "ok"
print(json.dumps(results))
"""


def test_every_python_entry_point_compose_names_imports_and_has_its_attribute(
    compose: dict[str, Any], processes: list[Process], tmp_path: Path
) -> None:
    # Given every `module:attribute` that the project's containers hand to
    # gunicorn or Celery, in commands and healthchecks alike
    targets: set[str] = set()
    for process in processes:
        if process.kind == "web":
            targets.update(f"wsgi={w}" for w in process.words if re.fullmatch(r"[\w.]+:\w+", w))
        if process.kind == "worker":
            # `fanfare worker X` hands X's Celery target to Celery.
            targets.add(f"celery={process.app.celery_target}")
    for service in project_image_services(compose).values():
        for words in (
            words_of(service.get("command")),
            shell_words(words_of((service.get("healthcheck") or {}).get("test"))),
        ):
            celery_app = option_value(words, "-A", "--app")
            if celery_app is not None:
                targets.add(f"celery={celery_app}")
    assert {t.split("=")[0] for t in targets} == {"wsgi", "celery"}

    # When each is imported in a fresh interpreter (nothing written to the repository)
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "FANFARE_ENV", "PROMETHEUS_MULTIPROC_DIR")
    }
    environment["FANFARE_VAR_DIR"] = str(tmp_path)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )
    completed = subprocess.run(
        [sys.executable, "-c", _ENTRY_POINT_PROBE, *sorted(targets)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then every one imports, and is a WSGI callable or a Celery app as its user expects
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    assert set(results) == targets
    assert {target: result for target, result in results.items() if result != "ok"} == {}


def test_exactly_one_worker_per_service_runs_beat(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given the Celery workers (beat relays the outbox: two would relay twice)
    workers = [p for p in processes if p.kind == "worker"]

    for spec in (spec for spec in APPS if spec.has_worker):
        # When those of one service that run beat are counted
        beats = [p for p in workers if p.app == spec and p.runs_beat]

        # Then there is exactly one, and it is not scaled beyond one replica
        assert len(beats) == 1, (spec.name, [p.service for p in beats])
        deploy = compose["services"][beats[0].service].get("deploy") or {}
        assert int(deploy.get("replicas", 1)) == 1, beats[0].service


def test_each_outbox_relay_runs_one_replica_and_may_finish_its_pass_on_stop(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given the outbox relay processes (`fanfare relay <app>`)
    relays = [p for p in processes if p.kind == "relay"]
    assert relays

    for process in relays:
        service = compose["services"][process.service]
        # Then each is one replica, given a grace period to end its pass on SIGTERM
        assert int((service.get("deploy") or {}).get("replicas", 1)) == 1, process.service
        assert service.get("stop_grace_period"), process.service


# ---------------------------------------------------------------------------
# Configuration: environment, ports, databases
# ---------------------------------------------------------------------------


def test_app_containers_get_only_environment_variables_their_settings_read(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given each container of the project image and the app it belongs to
    for process in processes:
        service = compose["services"][process.service]

        # When its environment is compared with what the app's settings class reads
        read = process.app.settings_class.env_var_names()
        unread = set(environment_of(service)) - read

        # Then nothing is set that the app would silently ignore, and nothing
        # comes from an env_file this test cannot see
        assert unread == set(), f"{process.service} ({process.app.name}) sets {sorted(unread)}"
        assert "env_file" not in service, process.service
        assert environment_of(service).get("FANFARE_ENV") == "production", process.service


def test_each_app_answers_on_its_own_port_everywhere_it_is_named(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given fanfare.apps, whose ports are those of DESIGN.md
    assert {spec.name: spec.port for spec in APPS} == DESIGN_PORTS

    for spec in APPS:
        web = web_service_of(processes, spec)
        service = compose["services"][web.service]

        # When the web service's bind, exposed/published ports and healthcheck are read
        bind = option_value(list(web.words), "--bind", "-b")
        exposed = [
            container_port(p) for p in [*service.get("expose", []), *service.get("ports", [])]
        ]
        healthcheck = " ".join(words_of((service.get("healthcheck") or {}).get("test")))
        probed = re.findall(
            r"https?://(?:127\.0\.0\.1|localhost):(\d+)(/\S*?)['\"\s)]", healthcheck
        )

        # Then each of them is the app's port, and the healthcheck asks /readyz
        assert bind is not None, web.service
        assert int(bind.rsplit(":", 1)[1]) == spec.port, web.service
        assert exposed, f"{web.service} neither exposes nor publishes its port"
        assert set(exposed) == {spec.port}, web.service
        assert probed == [(str(spec.port), "/readyz")], (web.service, healthcheck)


def test_web_healthchecks_are_valid_python_run_with_the_image_python(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given each web service's healthcheck (the slim image has no curl)
    for process in (p for p in processes if p.kind == "web"):
        test = words_of(compose["services"][process.service]["healthcheck"]["test"])

        # When it is read as `CMD python -c <code>`
        # Then the code compiles and opens /readyz with a timeout
        assert test[:3] == ["CMD", "python", "-c"], (process.service, test)
        code = test[3]
        compile(code, f"{process.service}-healthcheck", "exec")
        assert "urllib.request" in code
        assert "timeout=" in code


def test_every_internal_address_an_app_is_given_is_a_service_of_this_file(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given every URL in the app containers' environment, but the public ones
    for process in processes:
        for name, value in environment_of(compose["services"][process.service]).items():
            url = urlsplit(interpolate(value))
            # (s3:// and file:// name a bucket and a path, not a host.)
            if not url.netloc or url.scheme in ("s3", "file") or name in PUBLIC_URL_SETTINGS:
                continue

            # When its host is read
            # Then it is a service of docker-compose.yml (no localhost, no guess)
            assert url.hostname in compose["services"], f"{process.service}: {name}={value}"


def test_links_and_media_urls_the_apps_hand_out_lead_through_nginx(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given the port nginx is published on
    nginx = compose["services"][service_running_image(compose, "nginx:")]
    (published,) = [interpolate(str(p)).rsplit(":", 2)[-2] for p in nginx.get("ports", [])]

    for process in processes:
        read = process.app.settings_class.env_var_names()
        environment = environment_of(compose["services"][process.service])
        for name in (n for n in PUBLIC_URL_SETTINGS if n in read):
            # When an app that hands out public URLs is configured
            # Then their base is set (not the development default) and is nginx
            assert name in environment, f"{process.service} leaves {name} at its default"
            url = urlsplit(interpolate(environment[name]))
            assert url.port == int(published), f"{process.service}: {name}"


def test_gateway_reaches_each_backend_at_its_service_name_and_port(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given the gateway's environment
    gateway = web_service_of(processes, APPS_BY_NAME["gateway"])
    environment = environment_of(compose["services"][gateway.service])

    for spec in (spec for spec in APPS if spec.name != "gateway"):
        # When the URL of a backend is read
        url = urlsplit(interpolate(environment[f"{spec.name.upper()}_URL"]))

        # Then it is the compose service that serves that app, on the app's port
        assert url.hostname == web_service_of(processes, spec).service, spec.name
        assert url.port == spec.port, spec.name


def test_each_app_keeps_its_own_postgres_database(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given the PostgreSQL service and every container of the project image
    postgres = service_running_image(compose, "postgres:")
    urls: dict[str, set[str]] = {}

    for process in processes:
        # When its DATABASE_URL is read
        raw = environment_of(compose["services"][process.service]).get("DATABASE_URL")
        assert raw, f"{process.service} has no DATABASE_URL"
        url = urlsplit(interpolate(raw))

        # Then it is PostgreSQL through psycopg 3, on the compose service,
        # in the database named after the container's own app
        assert url.scheme == "postgresql+psycopg", process.service
        assert url.hostname == postgres, process.service
        assert url.path == f"/{process.app.name}", process.service
        urls.setdefault(process.app.name, set()).add(raw)

    # And all containers of one app use the same URL
    assert {name: len(found) for name, found in urls.items()} == {spec.name: 1 for spec in APPS}


def test_all_apps_share_one_redis_so_events_reach_other_services_queues(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given the Redis service
    redis = service_running_image(compose, "redis:")

    # When every container's REDIS_URL is read
    urls = {environment_of(compose["services"][p.service]).get("REDIS_URL") for p in processes}

    # Then there is one, on the compose Redis (events are sent onto the
    # consuming service's queue on the sender's broker)
    assert len(urls) == 1, urls
    (url,) = urls
    assert url is not None
    assert urlsplit(interpolate(url)).hostname == redis


def test_web_and_workers_start_only_after_their_apps_migrations_succeeded(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given the one-shot migration of each app
    migrations = {p.app.name: p.service for p in processes if p.kind == "migrate"}
    postgres = service_running_image(compose, "postgres:")

    for process in processes:
        depends_on = depends_on_of(compose["services"][process.service])
        if process.kind == "migrate":
            # Then a migration waits for PostgreSQL to accept connections, and runs once
            assert depends_on.get(postgres) == "service_healthy", process.service
            assert compose["services"][process.service].get("restart") in ("no", None)
            continue
        # Then every web and worker container waits for its own app's migration
        assert depends_on.get(migrations[process.app.name]) == ("service_completed_successfully"), (
            process.service
        )


def test_infrastructure_reports_its_health(compose: dict[str, Any]) -> None:
    # Given PostgreSQL and Redis
    postgres = compose["services"][service_running_image(compose, "postgres:")]
    redis = compose["services"][service_running_image(compose, "redis:")]

    # When their healthchecks are read
    postgres_check = " ".join(words_of(postgres["healthcheck"]["test"]))
    redis_check = " ".join(words_of(redis["healthcheck"]["test"]))

    # Then PostgreSQL is asked with pg_isready and Redis with redis-cli ping
    assert "pg_isready" in postgres_check
    assert "redis-cli" in redis_check
    assert "ping" in redis_check


def test_redis_keeps_queued_tasks_across_a_restart(compose: dict[str, Any]) -> None:
    # Given the Redis service
    redis = compose["services"][service_running_image(compose, "redis:")]

    # When its command and volumes are read
    command = words_of(redis.get("command"))
    volumes = [str(v).split(":") for v in redis.get("volumes", [])]

    # Then it writes an append-only file onto a volume at /data
    assert option_value(command, "--appendonly") == "yes", command
    assert any(len(parts) > 1 and parts[1] == "/data" for parts in volumes), volumes


def test_the_asset_bucket_is_created_before_content_starts(
    compose: dict[str, Any], processes: list[Process]
) -> None:
    # Given the one-shot container (not of the project image) that creates the bucket
    services = compose["services"]
    ours = project_image_services(compose)
    creators = [
        name
        for name, service in services.items()
        if name not in ours
        and "fanfare-assets" in json.dumps(service)
        and service.get("restart") == "no"
    ]
    assert len(creators) == 1, creators
    creator = services[creators[0]]

    # When the order of start-up is read
    # Then it waits for a healthy S3 server, and content waits for it to succeed
    s3_server = [name for name, c in depends_on_of(creator).items() if c == "service_healthy"]
    assert len(s3_server) == 1, depends_on_of(creator)
    assert "healthcheck" in services[s3_server[0]]
    content = [p for p in processes if p.app.name == "content" and p.kind != "migrate"]
    assert content
    for process in content:
        condition = depends_on_of(services[process.service]).get(creators[0])
        assert condition == "service_completed_successfully", process.service

        # And content stores its files in that bucket, on that server
        environment = environment_of(services[process.service])
        if "STORAGE_URL" in process.app.settings_class.env_var_names():
            storage = urlsplit(interpolate(environment.get("STORAGE_URL", "")))
            assert (storage.scheme, storage.netloc) == ("s3", "fanfare-assets"), process.service
            endpoint = urlsplit(interpolate(environment.get("S3_ENDPOINT_URL", "")))
            assert endpoint.hostname == s3_server[0], process.service


def test_mailpit_catches_mail_and_shows_it_on_port_8025(compose: dict[str, Any]) -> None:
    # Given the Mailpit service
    mailpit = compose["services"][service_running_image(compose, "axllent/mailpit")]

    # When its published ports are read
    published = {container_port(p) for p in mailpit.get("ports", [])}

    # Then its web UI is published (SMTP stays on 1025 inside the network)
    assert published == {8025}


# ---------------------------------------------------------------------------
# Files that compose refers to
# ---------------------------------------------------------------------------


def test_every_file_compose_refers_to_exists(compose: dict[str, Any]) -> None:
    # Given every build context, Dockerfile and bind mount in docker-compose.yml
    missing: list[str] = []
    for name, service in compose["services"].items():
        build = service.get("build")
        if isinstance(build, dict):
            context = ROOT / build.get("context", ".")
            if not context.is_dir():
                missing.append(f"{name}: build context {context}")
            if not (context / build.get("dockerfile", "Dockerfile")).is_file():
                missing.append(f"{name}: dockerfile {build.get('dockerfile')}")
        for volume in service.get("volumes", []):
            source = volume.get("source", "") if isinstance(volume, dict) else str(volume)
            source = source.split(":", 1)[0]
            # When a source is a path (not a named volume)
            if source.startswith((".", "/")) and not (ROOT / source).exists():
                missing.append(f"{name}: {source}")

    # Then it is there
    assert missing == []
    for path in (DOCKERFILE, INIT_SCRIPT, NGINX_CONF, DOCKERIGNORE):
        assert path.is_file(), path


def test_the_image_is_python_311_slim_run_as_a_non_root_user_without_dev_extras() -> None:
    # Given infra/Dockerfile
    lines = [
        line.strip()
        for line in DOCKERFILE.read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    arguments: dict[str, str] = {}
    for line in lines:
        if line.startswith("ARG ") and "=" in line:
            name, _, default = line.split(None, 1)[1].partition("=")
            arguments[name] = default

    # When its stages, users and installs are read
    bases = [interpolate(line.split()[1], arguments) for line in lines if line.startswith("FROM ")]
    final_stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    users = [line.split()[1] for line in final_stage if line.startswith("USER ")]
    installs = [line for line in lines if re.search(r"\bpip install\b", line)]

    # Then every stage is python:3.11-slim, the last USER is not root, and
    # Fanfare is installed from the source tree without its dev extras
    assert bases
    assert set(bases) == {"python:3.11-slim"}, bases
    assert users, "the final stage sets no USER: the containers would run as root"
    assert users[-1].split(":")[0] not in ("root", "0"), users
    assert any(re.search(r"\bpip install (\S+ )*\.(\s|$|&)", line) for line in installs), installs
    assert not any(re.search(r"\[[^\]]*\bdev\b", line) for line in installs), installs


def _dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern also covers what is under it."""
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip("/")
        regex = ""
        index = 0
        while index < len(pattern):
            if pattern.startswith("**/", index):
                regex, index = regex + "(?:.*/)?", index + 3
            elif pattern.startswith("**", index):
                regex, index = regex + ".*", index + 2
            elif pattern[index] == "*":
                regex, index = regex + "[^/]*", index + 1
            elif pattern[index] == "?":
                regex, index = regex + "[^/]", index + 1
            elif pattern[index] == "[":
                end = pattern.index("]", index)
                regex, index = regex + pattern[index : end + 1], end + 1
            else:
                regex, index = regex + re.escape(pattern[index]), index + 1
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if any(re.fullmatch(regex, prefix) for prefix in prefixes):
            excluded = not negate
    return excluded


def test_the_build_context_leaves_out_local_state_but_keeps_the_sources() -> None:
    # Given the repository root's .dockerignore (compose builds from the root)
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]

    # When paths of local state and of the sources are checked against it
    local_state = [
        ".venv/bin/python",
        "var/content.db",
        ".git/HEAD",
        "test-artifacts/report.xml",
        "fanfare/__pycache__/apps.cpython-311.pyc",
        "services/content/__pycache__/app.cpython-311.pyc",
        ".env",
    ]
    copied = [
        word
        for line in DOCKERFILE.read_text().splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for word in line.split()[1:-1]
    ]
    sources = [
        *copied,
        "pyproject.toml",
        "README.md",
        "fanfare/apps.py",
        "services/common/app.py",
        "services/content/migrations/versions/0001_initial.py",
        "gateway/wsgi.py",
    ]

    # Then the local state stays out, and everything the Dockerfile copies goes in
    assert [p for p in local_state if not _dockerignore_excludes(patterns, p)] == []
    assert [p for p in sources if _dockerignore_excludes(patterns, p)] == []


# ---------------------------------------------------------------------------
# PostgreSQL: one database per app
# ---------------------------------------------------------------------------


def _run_init_script(tmp_path: Path, psql_exit_code: int) -> tuple[int, list[str]]:
    """Run the init script with a ``psql`` that records what it is asked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "psql.jsonl"
    psql = bin_dir / "psql"
    psql.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"with open({str(log)!r}, 'a') as log:\n"
        "    log.write(json.dumps(' '.join(sys.argv[1:]) + '\\n' + sys.stdin.read()) + '\\n')\n"
        f"sys.exit({psql_exit_code})\n"
    )
    psql.chmod(0o755)
    completed = subprocess.run(
        ["bash", str(INIT_SCRIPT)],
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "POSTGRES_USER": "fanfare",
            "POSTGRES_PASSWORD": "secret",
            "POSTGRES_DB": "postgres",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return completed.returncode, calls


def test_postgres_starts_with_one_database_per_app(compose: dict[str, Any], tmp_path: Path) -> None:
    # Given the init script, mounted where the postgres image runs it on first start
    postgres = compose["services"][service_running_image(compose, "postgres:")]
    mounts = [str(v).split(":") for v in postgres.get("volumes", [])]
    assert any(
        (ROOT / parts[0]).resolve() == INIT_SCRIPT
        and parts[1].startswith("/docker-entrypoint-initdb.d/")
        and parts[1].endswith(".sh")
        for parts in mounts
        if len(parts) > 1
    ), mounts
    assert os.access(INIT_SCRIPT, os.X_OK), "the postgres image only sources, not runs, it"

    # When it runs against a psql that accepts everything
    exit_code, calls = _run_init_script(tmp_path, psql_exit_code=0)

    # Then it asks for CREATE DATABASE once for each app, and for nothing else
    assert exit_code == 0
    created = {
        spec.name
        for spec in APPS
        for call in calls
        if "CREATE DATABASE" in call.upper() and re.search(rf"(?<![\w-]){spec.name}(?![\w-])", call)
    }
    assert created == set(APPS_BY_NAME)
    assert len(calls) == len(APPS)


def test_a_failed_database_creation_stops_postgres_initialisation(tmp_path: Path) -> None:
    # Given a psql that fails (the server refuses the first CREATE DATABASE)
    # When the init script runs
    exit_code, calls = _run_init_script(tmp_path, psql_exit_code=3)

    # Then it stops there and fails, so the container does not start half made
    assert exit_code != 0
    assert len(calls) == 1


# ---------------------------------------------------------------------------
# nginx: /r/ to referrals, the rest to the gateway, no /metrics
# ---------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None


def _nginx_tokens(text: str) -> Iterator[tuple[str, bool]]:
    """``(token, is_punctuation)``: words, quoted strings, and ``{ } ;``."""
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char == "#":
            end = text.find("\n", index)
            index = len(text) if end == -1 else end
        elif char in "{};":
            yield char, True
            index += 1
        elif char in "\"'":
            end = index + 1
            while text[end] != char:
                end += 2 if text[end] == "\\" else 1
            yield text[index + 1 : end], False
            index = end + 1
        else:
            match = re.compile(r"[^\s{};\"']+").match(text, index)
            assert match is not None
            yield match.group(0), False
            index = match.end()


def parse_nginx(text: str) -> list[Directive]:
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    for token, punctuation in _nginx_tokens(text):
        if not punctuation:
            words.append(token)
        elif token == ";":
            stack[-1].append(Directive(words[0], words[1:], None))
            words = []
        elif token == "{":
            block: list[Directive] = []
            stack[-1].append(Directive(words[0], words[1:], block))
            stack.append(block)
            words = []
        else:
            stack.pop()
    assert len(stack) == 1, "unbalanced braces in the nginx config"
    return stack[0]


def _children(directives: list[Directive], name: str) -> list[Directive]:
    return [d for d in directives if d.name == name]


def route(server: Directive, uri: str) -> Directive:
    """The location nginx picks for ``uri``: exact, then longest prefix, ``^~``, regexes."""
    assert server.block is not None
    locations = _children(server.block, "location")
    for location in locations:
        if location.args[0] == "=" and location.args[1] == uri:
            return location
    prefixes = [
        (loc.args[-1], loc)
        for loc in locations
        if (len(loc.args) == 1 or loc.args[0] == "^~") and uri.startswith(loc.args[-1])
    ]
    longest = max(prefixes, key=lambda item: len(item[0]))[1] if prefixes else None
    if longest is not None and longest.args[0] == "^~":
        return longest
    for location in locations:
        if location.args[0] in ("~", "~*"):
            flags = re.IGNORECASE if location.args[0] == "~*" else 0
            if re.search(location.args[1], uri, flags):
                return location
    assert longest is not None, f"no location of the server handles {uri}"
    return longest


def proxied_to(http: Directive, location: Directive) -> set[tuple[str, int]]:
    """The ``(host, port)`` servers that a location's proxy_pass sends to."""
    assert http.block is not None
    assert location.block is not None
    passes = _children(location.block, "proxy_pass")
    assert len(passes) == 1, f"location {location.args} does not proxy"
    target = urlsplit(passes[0].args[0])
    upstreams = {u.args[0]: u for u in _children(http.block, "upstream")}
    if target.hostname in upstreams and target.port is None:
        block = upstreams[target.hostname].block
        assert block is not None
        servers = [s.args[0].rsplit(":", 1) for s in _children(block, "server")]
        return {(host, int(port)) for host, port in servers}
    assert target.hostname is not None
    return {(target.hostname, target.port or 80)}


def refuses(location: Directive) -> bool:
    assert location.block is not None
    denied = any(d.args == ["all"] for d in _children(location.block, "deny"))
    returned = [d.args[0] for d in _children(location.block, "return")]
    return (denied or returned[:1] in (["403"], ["404"])) and not _children(
        location.block, "proxy_pass"
    )


@pytest.fixture(scope="module")
def nginx(compose: dict[str, Any]) -> tuple[Directive, Directive]:
    """The http block and the server nginx publishes, as compose mounts them."""
    service = compose["services"][service_running_image(compose, "nginx:")]
    mounts = [str(v).split(":") for v in service.get("volumes", [])]
    conf_mounts = [p for p in mounts if len(p) > 1 and p[1].startswith("/etc/nginx/")]
    assert [(ROOT / parts[0]).resolve() for parts in conf_mounts] == [NGINX_CONF]
    assert conf_mounts[0][1] == "/etc/nginx/nginx.conf"
    (http,) = _children(parse_nginx(NGINX_CONF.read_text()), "http")
    assert http.block is not None
    published = {container_port(p) for p in service.get("ports", [])}
    servers = [
        server
        for server in _children(http.block, "server")
        if server.block is not None
        and any(
            int(listen.args[0].rsplit(":", 1)[-1]) in published
            and not listen.args[0].startswith("127.")
            for listen in _children(server.block, "listen")
        )
    ]
    assert len(servers) == 1, f"expected one server on the published port(s) {published}"
    return http, servers[0]


def test_nginx_is_published_on_port_8080(compose: dict[str, Any]) -> None:
    # Given the nginx service
    service = compose["services"][service_running_image(compose, "nginx:")]

    # When its published ports are read
    published = [interpolate(str(p)) for p in service.get("ports", [])]

    # Then the host's port 8080 leads to nginx's port 80
    assert [p.rsplit(":", 2)[-2:] for p in published] == [["8080", "80"]]


@pytest.mark.parametrize(
    ("uri", "app"),
    [
        ("/r/abc123", "referrals"),
        ("/r/abc123/qr.png", "referrals"),
        ("/media/packs/p1/social-card", "content"),
        ("/", "gateway"),
        ("/graphql", "gateway"),
        ("/console", "gateway"),
        ("/r", "gateway"),
    ],
)
def test_nginx_sends_links_to_referrals_media_to_content_and_the_rest_to_the_gateway(
    nginx: tuple[Directive, Directive], processes: list[Process], uri: str, app: str
) -> None:
    # Given the nginx config that compose mounts
    http, server = nginx

    # When a request for `uri` arrives
    location = route(server, uri)

    # Then it goes to the compose service serving `app`, on that app's port
    spec = APPS_BY_NAME[app]
    assert proxied_to(http, location) == {(web_service_of(processes, spec).service, spec.port)}


@pytest.mark.parametrize("uri", ["/metrics", "/metrics/"])
def test_nginx_refuses_metrics_from_outside(nginx: tuple[Directive, Directive], uri: str) -> None:
    # Given the nginx config that compose mounts
    _, server = nginx

    # When someone outside asks for the apps' Prometheus metrics
    location = route(server, uri)

    # Then nginx refuses instead of proxying
    assert refuses(location), location
