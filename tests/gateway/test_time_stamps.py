"""The gateway's time stamps mean one instant on both databases, and go out in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from gateway.core.types import DateTime
from gateway.identity.users import create_user, issue_token, user_for_token
from gateway.models import ApiKey, AuthToken
from services.common.utc_time import utcnow
from tests.gateway.conftest import PASSWORD, bearer, post_graphql
from tests.gateway.test_api_keys import staff_token

PLUS_FIVE = timezone(timedelta(hours=5))
MINUS_SEVEN = timezone(timedelta(hours=-7))

CREATE_KEY = """
mutation { createApiKey(input: {name: "Shop", scopes: [STATS_READ]}) {
  apiKey { createdAt } errors { code } } }
"""


def a_fan_with_a_bearer_token(app: Flask) -> str:
    with app.extensions["fanfare"].db.transaction() as session:
        user = create_user(
            session, email="ann@example.com", password=PASSWORD, display_name="Ann", role="fan"
        )
        return issue_token(session, user=user, kind="bearer", ttl_seconds=3600)


def expire_token_at(app: Flask, moment: datetime) -> None:
    with app.extensions["fanfare"].db.transaction() as session:
        session.execute(update(AuthToken).values(expires_at=moment))


def test_a_token_expired_a_minute_ago_at_plus_five_is_refused(gateway_app: Flask) -> None:
    # given a token whose expiry, a minute ago, was written with a +05:00 offset
    secret = a_fan_with_a_bearer_token(gateway_app)
    expire_token_at(gateway_app, (utcnow() - timedelta(minutes=1)).astimezone(PLUS_FIVE))

    # when it is presented
    with gateway_app.extensions["fanfare"].db.reading() as session:
        owner = user_for_token(session, secret, kind="bearer")

    # then it is refused (SQLite used to keep the wall time: five hours more to live)
    assert owner is None


def test_a_token_live_for_an_hour_at_minus_seven_expires_at_that_instant(
    gateway_app: Flask,
) -> None:
    # given a token whose expiry, an hour from now, was written with a -07:00 offset
    secret = a_fan_with_a_bearer_token(gateway_app)
    expires_at = (utcnow() + timedelta(hours=1)).astimezone(MINUS_SEVEN)
    expire_token_at(gateway_app, expires_at)

    # when it is presented
    with gateway_app.extensions["fanfare"].db.reading() as session:
        owner = user_for_token(session, secret, kind="bearer")

    # then it is live, and its expiry reads back as the same instant in UTC
    assert owner is not None
    assert owner.expires_at == expires_at
    assert owner.expires_at is not None
    assert owner.expires_at.tzinfo is UTC


def test_an_api_keys_creation_time_goes_out_in_utc_as_stored(
    client: FlaskClient, gateway_app: Flask
) -> None:
    # given a marketer who creates a partner key
    token = staff_token(gateway_app)
    before = utcnow()
    created = post_graphql(client, CREATE_KEY, headers=bearer(token)).json["data"]["createApiKey"]
    assert created["errors"] == []

    # when the key's creation time is read over GraphQL and from the database
    shown = datetime.fromisoformat(created["apiKey"]["createdAt"])
    with gateway_app.extensions["fanfare"].db.reading() as session:
        stored = session.scalar(select(ApiKey.created_at))

    # then both are the same aware UTC instant, sent with its +00:00 offset
    assert created["apiKey"]["createdAt"].endswith("+00:00")
    assert stored == shown
    assert before <= shown <= utcnow()


def test_the_datetime_scalar_sends_an_instant_in_utc_with_its_offset() -> None:
    # when an instant written at +05:00 is serialized
    sent = DateTime.serialize(datetime(2026, 11, 22, 19, 30, tzinfo=PLUS_FIVE))

    # then the wire carries the same instant in UTC, with its offset
    assert sent == "2026-11-22T14:30:00+00:00"


def test_the_datetime_scalar_refuses_a_naive_time() -> None:
    # when a naive datetime reaches the scalar (a bug: every stored time reads aware)
    # then it is refused rather than guessed to be UTC
    with pytest.raises(TypeError, match="naive"):
        DateTime.serialize(datetime(2026, 11, 22, 19, 30))


def test_the_datetime_scalar_passes_a_services_iso_text_through() -> None:
    # when a service's ISO 8601 text is serialized, then it is sent as the service wrote it
    assert DateTime.serialize("2026-11-22T14:30:00+00:00") == "2026-11-22T14:30:00+00:00"


@pytest.mark.parametrize("offset", [PLUS_FIVE, MINUS_SEVEN, UTC], ids=["+05", "-07", "utc"])
def test_a_datetime_argument_keeps_its_instant(offset: timezone) -> None:
    # when a client sends an instant with an offset
    moment = datetime(2026, 11, 22, 19, 30, tzinfo=offset)
    parsed = DateTime.parse_value(moment.isoformat())

    # then the gateway reads the same instant
    assert parsed == moment
