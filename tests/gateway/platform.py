"""The real content, referrals and rewards apps on real ports, counting the calls they get.

Used by the assembled-API tests and by ``bench/graphql.py``.
"""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from fanfare.apps import get_app_spec
from gateway.identity.users import create_user
from services.common import migrations
from services.content.app import create_app as create_content_app
from services.content.settings import ContentSettings
from services.referrals.app import create_app as create_referrals_app
from services.referrals.settings import ReferralsSettings
from services.rewards.app import create_app as create_rewards_app
from services.rewards.settings import RewardsSettings
from tests.gateway.conftest import (
    PASSWORD,
    SECRET,
    bearer,
    build_gateway,
    gateway_settings,
    log_in,
    post_graphql,
    sign_up,
)
from tests.support.live import serve

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class CallCounter:
    """WSGI middleware counting the API calls a service receives."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/v1/"):
            with self._lock:
                self.calls[f"{environ['REQUEST_METHOD']} {path}"] += 1
        return self.app(environ, start_response)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    @property
    def total(self) -> int:
        return sum(self.calls.values())


@dataclass
class Services:
    urls: dict[str, str]
    counters: dict[str, CallCounter]
    apps: dict[str, Flask] = field(default_factory=dict)

    def process_uploads(self) -> None:
        """Make renditions of every uploaded asset, as the content worker would."""
        from services.content import assets
        from services.content.models import Asset

        context = self.apps["content"].extensions["content"]
        with context.db.transaction() as session:
            ids = list(session.scalars(select(Asset.id).where(Asset.status == "PROCESSING")))
        for asset_id in ids:
            assets.process_asset(context=context, asset_id=asset_id)

    def deliver_events(self) -> int:
        """Relay every service's outbox straight to its consumers' handlers.

        The relay and the consumers are the services' own; only the broker in
        between is left out, so tests see events applied without a worker.
        """
        delivered = 0
        for runtime in (app.extensions["fanfare"] for app in self.apps.values()):
            if runtime.outbox is None:
                continue

            def send(target: str, event: Any) -> None:
                consumer_app = self.apps.get(target)
                if consumer_app is not None:
                    consumer = consumer_app.extensions["fanfare"]
                    consumer.consumer.apply(consumer.db, event)

            while sent := runtime.outbox.relay_batch(runtime.db, send).sent:
                delivered += sent
        return delivered

    def reset_counts(self) -> None:
        for counter in self.counters.values():
            counter.reset()

    def counts(self) -> dict[str, int]:
        return {name: counter.total for name, counter in self.counters.items()}


def service_apps(base: Path, redis_url: str, secret: str) -> dict[str, Flask]:
    common: dict[str, Any] = {
        "environment": "test",
        "redis_url": redis_url,
        "internal_token_secret": secret,
        "log_format": "text",
        "log_level": "WARNING",
    }
    files = base / "files"
    files.mkdir(parents=True, exist_ok=True)
    settings = {
        "content": ContentSettings(
            database_url=f"sqlite:///{base / 'content.db'}",
            storage_url=f"file://{files}",
            content_allowed_hosts="shop.example,.shop.example",
            short_link_host="fan.example",
            content_public_url="http://content.test",
            **common,
        ),
        "referrals": ReferralsSettings(
            database_url=f"sqlite:///{base / 'referrals.db'}",
            short_link_base_url="https://fan.example",
            **common,
        ),
        "rewards": RewardsSettings(database_url=f"sqlite:///{base / 'rewards.db'}", **common),
    }
    factories = {
        "content": create_content_app,
        "referrals": create_referrals_app,
        "rewards": create_rewards_app,
    }
    apps = {}
    for name, service_settings in settings.items():
        migrations.upgrade(get_app_spec(name).migrations_dir, service_settings.database_url)
        apps[name] = factories[name](service_settings)  # type: ignore[operator]
    # Uploads are processed by process_uploads() (the worker's own function), not
    # through a broker the test does not run.
    apps["content"].extensions["content"].enqueue_processing = lambda _asset_id: None
    return apps


@contextmanager
def running_services(base: Path, redis_url: str, secret: str) -> Iterator[Services]:
    """The three services served over HTTP until the block ends."""
    apps = service_apps(base, redis_url, secret)
    counters = {name: CallCounter(app.wsgi_app) for name, app in apps.items()}
    for name, app in apps.items():
        app.wsgi_app = counters[name]  # type: ignore[method-assign]
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve(app)) for name, app in apps.items()}
        try:
            yield Services(urls=urls, counters=counters, apps=apps)
        finally:
            for app in apps.values():
                app.extensions["fanfare"].db.dispose()


CREATE_PACK = """
mutation ($input: CreateContentPackInput!) {
  createContentPack(input: $input) { contentPack { id title status } errors { field code message } }
}
"""
PUBLISH_PACK = """
mutation ($id: ID!) { publishContentPack(id: $id) { contentPack { id status } errors { code } } }
"""
CREATE_LINK = """
mutation ($packId: ID!) {
  createReferralLink(input: {packId: $packId, channel: WHATSAPP}) {
    referralLink { id code shortUrl channel pack { title } stats { humanClicks } }
    errors { field code message }
  }
}
"""


@dataclass
class Platform:
    services: Services
    gateway: Flask
    client: FlaskClient
    marketer: str
    fan: str
    pack_ids: list[str]


UPLOAD = """
mutation ($input: UploadAssetInput!) {
  uploadAsset(input: $input) {
    asset { id filename contentType status bytes }
    errors { code message }
  }
}
"""


def jpeg_bytes(size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, "JPEG")
    return out.getvalue()


def upload_image(client: FlaskClient, marketer: str, pack_id: str, image: bytes) -> Any:
    operations = {"query": UPLOAD, "variables": {"input": {"packId": pack_id, "file": None}}}
    return client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
            "0": (io.BytesIO(image), "photo.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
        headers=bearer(marketer),
    ).get_json()["data"]["uploadAsset"]


def publish_packs(services: Services, client: FlaskClient, marketer: str, count: int) -> list[str]:
    ids = []
    image = jpeg_bytes((320, 240))
    for n in range(count):
        created = post_graphql(
            client,
            CREATE_PACK,
            {
                "input": {
                    "title": f"Behind the scenes #{n}",
                    "summary": "How the new shop was built.",
                    "story": "It started with a *sketch*.",
                    "purpose": "LEARN",
                    "destinationUrl": "https://shop.example/new",
                    "tags": ["shop"],
                    "captions": [{"channel": "X", "text": "Look at this"}],
                }
            },
            headers=bearer(marketer),
        ).json["data"]["createContentPack"]
        assert created["errors"] == [], created
        pack_id = created["contentPack"]["id"]
        uploaded = upload_image(client, marketer, pack_id, image)
        assert uploaded["errors"] == [], uploaded
        services.process_uploads()
        published = post_graphql(client, PUBLISH_PACK, {"id": pack_id}, headers=bearer(marketer))
        assert published.json["data"]["publishContentPack"]["contentPack"]["status"] == "PUBLISHED"
        ids.append(pack_id)
    return ids


@contextmanager
def assembled_platform(
    database_url: str,
    redis_url: str,
    base: Path,
    *,
    packs: int = 3,
    gateway_overrides: dict[str, Any] | None = None,
) -> Iterator[Platform]:
    """The gateway over the three services, a marketer, a fan (Ann) and ``packs`` published
    packs (three unless told); ``gateway_overrides`` are more gateway settings."""
    with running_services(base / "services", redis_url, SECRET) as services:
        gateway = build_gateway(
            gateway_settings(
                database_url,
                redis_url,
                content_url=services.urls["content"],
                referrals_url=services.urls["referrals"],
                rewards_url=services.urls["rewards"],
                # A live service's write can pass the production 1.5 s on a loaded 2-core CI
                # machine; these tests are about behaviour (timeouts: test_resilience.py).
                backend_timeout_seconds=10,
                **(gateway_overrides or {}),
            )
        )
        client = gateway.test_client()
        with gateway.extensions["fanfare"].db.transaction() as session:
            create_user(
                session,
                email="mia@brand.example",
                password=PASSWORD,
                display_name="Mia",
                role="marketer",
            )
        marketer = log_in(client, "mia@brand.example", PASSWORD).json["data"]["logIn"]["token"]
        fan = sign_up(client).json["data"]["signUp"]["token"]
        pack_ids = publish_packs(services, client, marketer, packs)
        services.deliver_events()
        try:
            yield Platform(services, gateway, client, marketer, fan, pack_ids)
        finally:
            gateway.extensions["fanfare"].db.dispose()
