"""The whole platform for browser tests: four apps on real ports, three real Celery workers.

Each service gets its own PostgreSQL database, the session's Redis (its own
database number, so no other test's worker takes its tasks), local file
storage and, for rewards, the session's real SMTP server. The apps are served
in threads of the test process; the workers are ``celery worker --beat``
subprocesses built from the same environment, so outbox events flow between
the services exactly as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from flask import Flask, request
from werkzeug.serving import BaseWSGIServer, make_server

from fanfare.apps import get_app_spec
from gateway.app import create_app as create_gateway_app
from gateway.identity.users import create_user
from gateway.settings import GatewaySettings
from services.common import migrations
from services.common.settings import CommonSettings
from services.content.app import create_app as create_content_app
from services.content.settings import ContentSettings
from services.referrals.app import create_app as create_referrals_app
from services.referrals.settings import ReferralsSettings
from services.rewards.app import create_app as create_rewards_app
from services.rewards.settings import RewardsSettings
from tests.support.workers import CeleryWorker

SECRET = "portal-tests-internal-token-secret-0123456789abcdef"
STACK_REDIS_DB = 7
SERVICES = ("content", "referrals", "rewards")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LateBoundApp:
    """A WSGI app whose target is set once its server's port (and so its URL) is known."""

    def __init__(self) -> None:
        self.target: WSGIApp | None = None

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        assert self.target is not None, "the app is not built yet"
        return self.target(environ, start_response)


@dataclass
class Served:
    server: BaseWSGIServer
    app: LateBoundApp
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"


@contextmanager
def served() -> Iterator[Served]:
    """A threaded HTTP server on a free port; set ``.app.target`` before calling it."""
    app = LateBoundApp()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(server, app, thread)
    finally:
        server.shutdown()
        thread.join(5)


def settings_from_env(settings_class: type[CommonSettings], env: dict[str, str]) -> Any:
    """The settings a process started with ``env`` would read."""
    values: dict[str, Any] = {
        ("environment" if key == "FANFARE_ENV" else key.lower()): value
        for key, value in env.items()
    }
    return settings_class(**values)


@dataclass
class PortalStack:
    urls: dict[str, str]
    envs: dict[str, dict[str, str]]
    apps: dict[str, Flask]
    workers: dict[str, CeleryWorker]
    shop_url: str
    smtp_url: str
    extra_gateways: list[Flask] = field(default_factory=list)

    @property
    def gateway_url(self) -> str:
        return self.urls["gateway"]

    def create_staff(self, email: str, password: str, display_name: str) -> None:
        with self.apps["gateway"].extensions["fanfare"].db.transaction() as session:
            create_user(
                session,
                email=email,
                password=password,
                display_name=display_name,
                role="marketer",
            )

    def gateway_with(self, **overrides: Any) -> Flask:
        """Another gateway on the same database, e.g. with one service unreachable."""
        settings = settings_from_env(GatewaySettings, self.envs["gateway"])
        app = create_gateway_app(settings.model_copy(update=overrides))
        self.extra_gateways.append(app)
        return app

    def worker_logs(self) -> str:
        return "\n".join(
            f"--- {name} worker ---\n{worker.log_tail(60)}" for name, worker in self.workers.items()
        )


def _service_envs(
    *,
    databases: dict[str, str],
    redis_url: str,
    urls: dict[str, str],
    files: Path,
    smtp_url: str,
) -> dict[str, dict[str, str]]:
    common = {
        "FANFARE_ENV": "test",
        "REDIS_URL": redis_url,
        "INTERNAL_TOKEN_SECRET": SECRET,
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "WARNING",
        "OUTBOX_RELAY_INTERVAL_SECONDS": "0.3",
        "EVENT_RETRY_BACKOFF_SECONDS": "0.5",
    }
    return {
        "gateway": {
            **common,
            "DATABASE_URL": databases["gateway"],
            "CONTENT_URL": urls["content"],
            "REFERRALS_URL": urls["referrals"],
            "REWARDS_URL": urls["rewards"],
            # A real browser waits on real work; the default is tuned for a quiet server.
            "BACKEND_TIMEOUT_SECONDS": "5",
            # A module's tests sign up more fans from 127.0.0.1 than the default allows one
            # address in 15 minutes (10); the limit itself is tested in tests/gateway.
            "SIGNUP_LIMIT_PER_IP": "50",
        },
        "content": {
            **common,
            "DATABASE_URL": databases["content"],
            "STORAGE_URL": f"file://{files}",
            # The partner shop runs on localhost; short links on 127.0.0.1.
            "CONTENT_ALLOWED_HOSTS": "example.com,.example.com,localhost",
            "SHORT_LINK_HOST": "127.0.0.1",
            "CONTENT_PUBLIC_URL": urls["content"],
        },
        "referrals": {
            **common,
            "DATABASE_URL": databases["referrals"],
            "SHORT_LINK_BASE_URL": urls["referrals"],
            "CLICK_DRAIN_INTERVAL_SECONDS": "0.3",
        },
        "rewards": {
            **common,
            "DATABASE_URL": databases["rewards"],
            "SMTP_URL": smtp_url,
            "DELIVERY_RETRY_BACKOFF_SECONDS": "0.5",
        },
    }


SETTINGS_CLASSES: dict[str, type[CommonSettings]] = {
    "gateway": GatewaySettings,
    "content": ContentSettings,
    "referrals": ReferralsSettings,
    "rewards": RewardsSettings,
}
FACTORIES: dict[str, Callable[[Any], Flask]] = {
    "gateway": create_gateway_app,
    "content": create_content_app,
    "referrals": create_referrals_app,
    "rewards": create_rewards_app,
}


def _shop_app() -> Flask:
    """The partner's shop: where links lead; it shows the click id it was given."""
    shop = Flask("partner_shop")

    @shop.get("/<path:page>")
    def landing(page: str) -> str:
        click = request.args.get("ff_click", "")
        return (
            "<!doctype html><html lang='en'><head><title>Partner shop</title></head>"
            f"<body><main><h1>Partner shop: {page}</h1>"
            f"<p id='click-id'>{click}</p></main></body></html>"
        )

    return shop


@contextmanager
def running_stack(
    *, databases: dict[str, str], redis_server_url: str, smtp_url: str, base: Path
) -> Iterator[PortalStack]:
    """Migrate, serve the four apps, start the three workers; stop all when the block ends."""
    redis_url = f"{redis_server_url.rsplit('/', 1)[0]}/{STACK_REDIS_DB}"
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    files = base / "files"
    files.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        servers = {name: stack.enter_context(served()) for name in ("gateway", *SERVICES)}
        shop = stack.enter_context(served())
        shop.app.target = _shop_app()
        urls = {name: server.url for name, server in servers.items()}
        envs = _service_envs(
            databases=databases, redis_url=redis_url, urls=urls, files=files, smtp_url=smtp_url
        )
        apps: dict[str, Flask] = {}
        for name, env in envs.items():
            settings = settings_from_env(SETTINGS_CLASSES[name], env)
            migrations.upgrade(get_app_spec(name).migrations_dir, settings.database_url)
            apps[name] = FACTORIES[name](settings)
            servers[name].app.target = apps[name]
        workers: dict[str, CeleryWorker] = {}
        for name in SERVICES:
            worker = CeleryWorker(
                get_app_spec(name).celery_target,
                queue=name,
                env=envs[name],
                log_path=base / "logs" / f"{name}-worker.log",
                concurrency=1,
                name=f"portal-{name}",
            )
            workers[name] = worker
            stack.callback(worker.stop)
            worker.start()
        portal = PortalStack(
            urls=urls,
            envs=envs,
            apps=apps,
            workers=workers,
            shop_url=shop.url.replace("127.0.0.1", "localhost"),
            smtp_url=smtp_url,
        )
        try:
            yield portal
        finally:
            for app in [*apps.values(), *portal.extra_gateways]:
                app.extensions["fanfare"].db.dispose()
