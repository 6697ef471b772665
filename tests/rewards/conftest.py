"""Fixtures for the rewards tests: a migrated app on SQLite and PostgreSQL, and a driver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from fanfare.apps import get_app_spec
from services.common import migrations
from services.common.events import Event
from services.common.internal_auth import Principal, issue_internal_token
from services.common.runtime import ServiceRuntime
from services.rewards.app import create_app
from services.rewards.models import rewards, rules
from services.rewards.rules import create_rule
from services.rewards.settings import RewardsSettings

SECRET = "rewards-test-secret-that-is-long-enough-0123456789abcdef"
STAFF = Principal(role="marketer", user_id="marketer-1")
SYSTEM = Principal(role="system")


def fan(fan_id: str) -> Principal:
    return Principal(role="fan", user_id=fan_id)


def share_event(fan_id: str, pack_id: str = "pack-1") -> Event:
    """A ``referrals.share_recorded`` event, as referrals would send it."""
    return Event.new(
        type="referrals.share_recorded",
        producer="referrals",
        payload={"share_id": "s", "fan_id": fan_id, "pack_id": pack_id, "channel": "instagram"},
    )


def conversion_event(fan_id: str, conversion_id: str, pack_id: str = "pack-1") -> Event:
    """A ``referrals.conversion_approved`` event of 49.99 EUR."""
    return Event.new(
        type="referrals.conversion_approved",
        producer="referrals",
        payload={
            "conversion_id": conversion_id,
            "external_id": f"order-{conversion_id}",
            "partner_id": "partner-1",
            "fan_id": fan_id,
            "link_id": "link-1",
            "pack_id": pack_id,
            "amount_cents": 4999,
            "currency": "EUR",
        },
    )


def reversal_event(fan_id: str, conversion_id: str) -> Event:
    """A ``referrals.conversion_reversed`` event (a refund) of ``conversion_id``."""
    return Event.new(
        type="referrals.conversion_reversed",
        producer="referrals",
        payload={
            "conversion_id": conversion_id,
            "external_id": f"order-{conversion_id}",
            "partner_id": "partner-1",
            "fan_id": fan_id,
            "pack_id": "pack-1",
            "reason": "refund",
        },
    )


class RewardsDriver:
    """Drives one rewards app: events in through its consumer, calls in through REST."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.runtime: ServiceRuntime = app.extensions["fanfare"]
        self.client = app.test_client()

    def apply(self, event_type: str, payload: dict[str, Any], event: Event | None = None) -> Event:
        """Deliver an event to the consumer as a worker would."""
        event = event or Event.new(type=event_type, producer="referrals", payload=payload)
        assert self.runtime.consumer is not None
        with self.app.app_context():
            self.runtime.consumer.apply(self.runtime.db, event)
        return event

    def deliver(self, event: Event) -> Event:
        """Deliver a built event to the consumer as a worker would."""
        return self.apply(event.type, event.payload, event=event)

    def share(self, fan_id: str, pack_id: str = "pack-1") -> Event:
        return self.deliver(share_event(fan_id, pack_id))

    def conversion(self, fan_id: str, conversion_id: str, pack_id: str = "pack-1") -> Event:
        return self.deliver(conversion_event(fan_id, conversion_id, pack_id))

    def reversal(self, fan_id: str, conversion_id: str) -> Event:
        return self.deliver(reversal_event(fan_id, conversion_id))

    def rule(self, **data: Any) -> int:
        with self.runtime.db.transaction() as session:
            return int(create_rule(session, data=data)["id"])

    def call(
        self,
        method: str,
        path: str,
        principal: Principal = STAFF,
        json: Any = None,
        **kwargs: Any,
    ) -> Any:
        token = issue_internal_token(principal, audience="rewards", secret=SECRET)
        return self.client.open(
            path,
            method=method,
            json=json,
            headers={"Authorization": f"Bearer {token}"},
            **kwargs,
        )

    def summary(self, fan_id: str) -> dict[str, Any]:
        response = self.call("GET", f"/v1/fans?ids={fan_id}", fan(fan_id))
        assert response.status_code == 200, response.json
        item: dict[str, Any] = response.json["items"][0]
        return item

    def reward_count(self, **where: Any) -> int:
        with self.runtime.db.transaction() as session:
            query = select(func.count()).select_from(rewards)
            for column, value in where.items():
                query = query.where(rewards.c[column] == value)
            return int(session.scalar(query) or 0)

    def rule_ids(self) -> list[int]:
        with self.runtime.db.transaction() as session:
            return [int(i) for i in session.scalars(select(rules.c.id))]


def rewards_settings(database_url: str, redis_url: str, **overrides: Any) -> RewardsSettings:
    return RewardsSettings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        internal_token_secret=SECRET,
        tier_thresholds="ADVOCATE=100,INSIDER=500,AMBASSADOR=2000",
        **overrides,
    )


def migrate(database_url: str) -> None:
    migrations.upgrade(get_app_spec("rewards").migrations_dir, database_url)


@pytest.fixture
def rewards_app(database_url: str, redis_url: str) -> Iterator[Flask]:
    migrate(database_url)
    app = create_app(rewards_settings(database_url, redis_url))
    yield app
    app.extensions["fanfare"].db.dispose()


@pytest.fixture
def driver(rewards_app: Flask) -> RewardsDriver:
    return RewardsDriver(rewards_app)
