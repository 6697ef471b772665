"""A referrals app on a real database (SQLite and PostgreSQL) and a real Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from fanfare.apps import get_app_spec
from services.common import migrations
from services.common.events import Event
from services.common.internal_auth import Principal, issue_internal_token
from services.common.runtime import ServiceRuntime
from services.referrals.app import create_app
from services.referrals.components import ReferralsComponents
from services.referrals.models import event_tables
from services.referrals.privacy import email_digest
from services.referrals.settings import ReferralsSettings
from services.referrals.tasks import drain_clicks

SECRET = "a-test-secret-that-is-long-enough-for-hs256-and-hs512-0123456789"
FAN_EMAIL = "Ada@Example.com "
PARTNER = Principal(role="partner", api_key_id="key-1", scopes=("CONVERSIONS_WRITE",))
MARKETER = Principal(role="marketer", user_id="marketer-1")
PHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


def fan(fan_id: str = "fan-1") -> Principal:
    return Principal(role="fan", user_id=fan_id)


def referrals_settings(database_url: str, redis_url: str, **overrides: Any) -> ReferralsSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "internal_token_secret": SECRET,
        "short_link_base_url": "https://fan.example",
        # One click per flush: each click wakes the buffer's flusher at once (and the
        # harness flushes after each visit, so a test can drain right after it).
        "click_buffer_size": 1,
        "log_format": "text",
    }
    values.update(overrides)
    return ReferralsSettings(**values)


@dataclass
class ReferralsHarness:
    app: Flask
    client: FlaskClient

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.extensions["fanfare"]
        return runtime

    @property
    def components(self) -> ReferralsComponents:
        components: ReferralsComponents = self.app.extensions["referrals"]
        return components

    def call(self, method: str, path: str, principal: Principal, **kwargs: Any) -> TestResponse:
        token = issue_internal_token(principal, audience="referrals", secret=SECRET)
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def publish_pack(
        self,
        pack_id: str = "pack-1",
        *,
        slug: str = "backstage-tour",
        destination_url: str = "https://shop.example/tour?ref=site",
        expires_at: datetime | None = None,
        event_type: str = "content.pack_published",
        occurred_at: datetime | None = None,
        **fields: Any,
    ) -> Event:
        """Deliver a content event through the service's own consumer, as the worker does."""
        payload: dict[str, Any] = {
            "pack_id": pack_id,
            "slug": slug,
            "title": fields.pop("title", "Backstage tour"),
            "summary": fields.pop("summary", "Forty minutes behind the curtain."),
            "purpose": "LEARN",
            "destination_url": destination_url,
            "min_tier": "BRONZE",
            "tags": [],
            "expires_at": expires_at.isoformat() if expires_at else None,
            "cover_url": fields.pop("cover_url", f"https://cdn.example/{pack_id}/social-card"),
            "rewarded": True,
            **fields,
        }
        event = Event.new(type=event_type, producer="content", payload=payload)
        if occurred_at is not None:
            event = Event(
                id=event.id,
                type=event.type,
                producer=event.producer,
                occurred_at=occurred_at.isoformat(),
                payload=payload,
            )
        assert self.runtime.consumer is not None
        self.runtime.consumer.apply(self.runtime.db, event)
        return event

    def archive_pack(self, pack_id: str = "pack-1") -> Event:
        event = Event.new(
            type="content.pack_archived",
            producer="content",
            payload={"pack_id": pack_id, "slug": "backstage-tour"},
        )
        assert self.runtime.consumer is not None
        self.runtime.consumer.apply(self.runtime.db, event)
        return event

    def create_link(
        self,
        fan_id: str = "fan-1",
        pack_id: str = "pack-1",
        channel: str = "WHATSAPP",
        email: str = FAN_EMAIL,
    ) -> dict[str, Any]:
        response = self.call(
            "POST",
            "/v1/links",
            fan(fan_id),
            json={"pack_id": pack_id, "channel": channel, "fan_ref": email_digest(email)},
        )
        assert response.status_code in (200, 201), response.json
        link: dict[str, Any] = response.json  # type: ignore[assignment]
        return link

    def visit(
        self,
        code: str,
        user_agent: str = PHONE_SAFARI,
        ip: str = "203.0.113.7",
        method: str = "GET",
    ) -> TestResponse:
        response = self.client.open(
            f"/r/{code}",
            method=method,
            headers={"User-Agent": user_agent},
            environ_base={"REMOTE_ADDR": ip},
        )
        # The buffer sends clicks from a background thread; here they leave before the
        # test goes on, as they would within CLICK_FLUSH_INTERVAL_SECONDS.
        self.components.buffer.flush()
        return response

    def drain(self) -> int:
        self.components.buffer.flush()
        with self.app.app_context():
            return drain_clicks(self.runtime, self.components)

    def stats(self, scope: str, key: str) -> dict[str, Any]:
        response = self.call("GET", f"/v1/stats/{scope}?ids={key}", MARKETER)
        assert response.status_code == 200, response.json
        (item,) = response.json["items"]  # type: ignore[index]
        result: dict[str, Any] = item
        return result

    def outbox_events(self, event_type: str) -> list[dict[str, Any]]:
        table = event_tables.outbox
        with self.runtime.db.transaction() as session:
            rows = session.execute(
                select(table.c.payload).where(table.c.event_type == event_type)
            ).all()
        return [dict(row.payload) for row in rows]

    def count(self, table: Any, *conditions: Any) -> int:
        with self.runtime.db.transaction() as session:
            found = session.scalar(select(func.count()).select_from(table).where(*conditions))
            return int(found or 0)

    def stream_length(self) -> int:
        self.components.buffer.flush()
        return self.components.stream.length()


def build_harness(database_url: str, redis_url: str, **overrides: Any) -> ReferralsHarness:
    migrations.upgrade(get_app_spec("referrals").migrations_dir, database_url)
    app = create_app(referrals_settings(database_url, redis_url, **overrides))
    return ReferralsHarness(app=app, client=app.test_client())


def close_harness(harness: ReferralsHarness) -> None:
    harness.components.buffer.flush()
    harness.components.directory.close()
    harness.runtime.db.dispose()
    harness.runtime.redis.close()


@pytest.fixture
def referrals(database_url: str, redis_url: str) -> Iterator[ReferralsHarness]:
    harness = build_harness(database_url, redis_url)
    try:
        yield harness
    finally:
        close_harness(harness)


@pytest.fixture
def live_pack(referrals: ReferralsHarness) -> ReferralsHarness:
    referrals.publish_pack(expires_at=datetime.now(UTC) + timedelta(days=30))
    return referrals


def decode_json(response: TestResponse) -> Any:
    return json.loads(response.get_data(as_text=True))
