"""Token owners remembered per process: a revocation or an erasure still counts at once.

Two gateway apps on one database and one Redis stand for two gateway processes:
each remembers the owners of the tokens it has seen, and a change made through
one must be seen by the other on its very next request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from gateway.identity.credentials import hash_secret
from gateway.identity.token_cache import identity_changed
from gateway.identity.users import erase_user
from gateway.models import AuthToken
from tests.gateway.conftest import (
    bearer,
    build_gateway,
    gateway_settings,
    post_graphql,
    sign_up,
    unreachable_url,
)

WHO_AM_I = "{ viewer { user { displayName role } } }"
PORTAL = {"X-Fanfare-Session": "cookie"}


@pytest.fixture
def two_gateways(database_url: str, redis_url: str) -> Iterator[tuple[Flask, Flask]]:
    first = build_gateway(gateway_settings(database_url, redis_url))
    second = build_gateway(gateway_settings(database_url, redis_url))
    yield first, second
    for app in (first, second):
        app.extensions["fanfare"].db.dispose()


def who_am_i(app: Flask, token: str) -> tuple[int, Any]:
    response = post_graphql(app.test_client(), WHO_AM_I, headers=bearer(token))
    return response.status_code, response.json


def test_a_token_logged_out_elsewhere_is_refused_at_once(
    two_gateways: tuple[Flask, Flask],
) -> None:
    first, second = two_gateways
    # given a fan whose token the first gateway has already seen (and remembers)
    token = sign_up(first.test_client()).json["data"]["signUp"]["token"]
    signed_in = {"viewer": {"user": {"displayName": "Ann", "role": "FAN"}}}
    for _ in range(2):
        status, body = who_am_i(first, token)
        assert (status, body["data"]) == (200, signed_in)

    # when the fan logs out through the second gateway
    out = post_graphql(second.test_client(), "mutation { logOut { ok } }", headers=bearer(token))
    assert out.json["data"]["logOut"]["ok"] is True

    # then the first gateway refuses the token on its very next request
    status, body = who_am_i(first, token)
    assert status == 401
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_an_erased_account_is_signed_out_everywhere_at_once(
    two_gateways: tuple[Flask, Flask],
) -> None:
    first, second = two_gateways
    # given a fan with two tokens, both remembered by the first gateway
    client = first.test_client()
    token = sign_up(client).json["data"]["signUp"]["token"]
    other = post_graphql(
        client,
        'mutation { logIn(input: {email: "ann@example.com", password: "correct horse battery"})'
        " { token } }",
    ).json["data"]["logIn"]["token"]
    assert who_am_i(first, token)[0] == 200
    assert who_am_i(first, other)[0] == 200

    # when the account is erased through the second gateway, as deleteMyAccount does
    # once the services have forgotten the fan
    with second.extensions["fanfare"].db.transaction() as session:
        user_id = session.scalar(
            select(AuthToken.user_id).where(AuthToken.token_hash == hash_secret(token))
        )
        assert user_id is not None
        erase_user(session, user_id=user_id)
    identity_changed(second.extensions["fanfare"].redis)

    # then neither token works any more on the first gateway
    assert who_am_i(first, token)[0] == 401
    assert who_am_i(first, other)[0] == 401


def test_a_new_display_name_shows_at_once_on_every_gateway(
    two_gateways: tuple[Flask, Flask],
) -> None:
    first, second = two_gateways
    token = sign_up(first.test_client()).json["data"]["signUp"]["token"]
    assert who_am_i(first, token)[1]["data"]["viewer"]["user"]["displayName"] == "Ann"

    # when the fan renames themself through the second gateway
    renamed = post_graphql(
        second.test_client(),
        'mutation { updatePreferences(input: {displayName: "Annie"}) { errors { code } } }',
        headers=bearer(token),
    )
    assert renamed.json["data"]["updatePreferences"]["errors"] == []

    # then the first gateway shows the new name on the next request
    assert who_am_i(first, token)[1]["data"]["viewer"]["user"]["displayName"] == "Annie"


def test_a_cookie_session_logged_out_elsewhere_is_refused_at_once(
    two_gateways: tuple[Flask, Flask],
) -> None:
    first, second = two_gateways
    # given a portal session the first gateway remembers
    client = first.test_client()
    signed_up = sign_up(client, headers=PORTAL)
    csrf = next(
        c.split(";", 1)[0].split("=", 1)[1]
        for c in signed_up.headers.getlist("Set-Cookie")
        if c.startswith("fanfare_csrf=")
    )
    session_cookie = client.get_cookie("fanfare_session")
    assert session_cookie is not None
    assert post_graphql(client, WHO_AM_I, headers={"X-CSRF-Token": csrf}).status_code == 200

    # when the session is logged out through the second gateway
    other = second.test_client()
    other.set_cookie("fanfare_session", session_cookie.value)
    out = post_graphql(other, "mutation { logOut { ok } }", headers={"X-CSRF-Token": csrf})
    assert out.json["data"]["logOut"]["ok"] is True

    # then the first gateway ends the session on its very next request
    again = post_graphql(client, WHO_AM_I, headers={"X-CSRF-Token": csrf})
    assert again.status_code == 401
    assert again.json["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_without_redis_tokens_are_checked_in_the_database(
    two_gateways: tuple[Flask, Flask], database_url: str
) -> None:
    # given a fan, and a gateway whose Redis cannot be reached (nothing is remembered)
    token = sign_up(two_gateways[0].test_client()).json["data"]["signUp"]["token"]
    app = build_gateway(
        gateway_settings(database_url, unreachable_url().replace("http://", "redis://"))
    )
    assert who_am_i(app, token)[0] == 200

    # when the token is revoked in the database
    with app.extensions["fanfare"].db.transaction() as session:
        session.execute(update(AuthToken).values(revoked_at=AuthToken.created_at))

    # then it is refused at once
    assert who_am_i(app, token)[0] == 401
    app.extensions["fanfare"].db.dispose()
