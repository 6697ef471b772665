"""Sign-up, log-in, log-out, tokens stored as hashes, rate limits, the portal's cookie session."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from gateway.account.auth_flow import wait_in_words
from gateway.models import AuthToken, User
from tests.gateway.conftest import (
    PASSWORD,
    bearer,
    build_gateway,
    gateway_settings,
    log_in,
    post_graphql,
    sign_up,
)

WHO_AM_I = "{ viewer { user { id email displayName role thankYouChannel } } }"


def rows(app: Flask, model: type) -> list:  # type: ignore[type-arg]
    with app.extensions["fanfare"].db.transaction() as session:
        return list(session.scalars(select(model)))


def test_a_fan_signs_up_and_the_token_names_them(client: FlaskClient) -> None:
    # when a fan signs up
    response = sign_up(client, email="  Ann@Example.COM ", display_name=" Ann  Lee ")

    # then they get a token and see their own (normalised) email
    payload = response.json["data"]["signUp"]
    assert payload["errors"] == []
    assert payload["user"]["email"] == "ann@example.com"
    assert payload["user"]["displayName"] == "Ann Lee"
    assert payload["user"]["role"] == "FAN"

    # and the token works as a bearer token
    viewer = post_graphql(client, WHO_AM_I, headers=bearer(payload["token"]))
    assert viewer.json["data"]["viewer"]["user"]["email"] == "ann@example.com"
    assert viewer.json["data"]["viewer"]["user"]["thankYouChannel"] == "PRIVATE_EMAIL"


def test_the_same_email_cannot_sign_up_twice_whatever_its_case(client: FlaskClient) -> None:
    sign_up(client, email="ann@example.com")

    # when someone signs up again with the same address in other letters
    response = sign_up(client, email="ANN@example.com ")

    # then the payload says it is a duplicate, and no token is given
    payload = response.json["data"]["signUp"]
    assert payload["token"] is None
    assert payload["errors"] == [
        {
            "field": ["input", "email"],
            "message": "An account with this email already exists.",
            "code": "DUPLICATE",
        }
    ]


@pytest.mark.parametrize(
    ("email", "password", "display_name", "field"),
    [
        ("not-an-email", PASSWORD, "Ann", "email"),
        ("ann@example.com", "short", "Ann", "password"),
        ("ann@example.com", "x" * 300, "Ann", "password"),
        ("ann@example.com", PASSWORD, "   ", "displayName"),
    ],
    ids=["bad-email", "short-password", "huge-password", "blank-name"],
)
def test_bad_sign_up_input_says_which_field_to_fix(
    client: FlaskClient, email: str, password: str, display_name: str, field: str
) -> None:
    response = sign_up(client, email=email, password=password, display_name=display_name)
    assert response.status_code == 200
    errors = response.json["data"]["signUp"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["input", field], "INVALID")]
    assert errors[0]["message"]


def test_passwords_and_tokens_are_stored_only_as_hashes(
    client: FlaskClient, gateway_app: Flask
) -> None:
    token = sign_up(client).json["data"]["signUp"]["token"]

    (user,) = rows(gateway_app, User)
    (stored,) = rows(gateway_app, AuthToken)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in stored.token_hash


def test_log_in_with_the_right_password_and_not_with_a_wrong_one(client: FlaskClient) -> None:
    sign_up(client, email="ann@example.com")

    wrong = log_in(client, "ann@example.com", "not the password").json["data"]["logIn"]
    unknown = log_in(client, "nobody@example.com", PASSWORD).json["data"]["logIn"]
    right = log_in(client, "Ann@Example.com", PASSWORD).json["data"]["logIn"]

    assert wrong["token"] is None
    assert wrong["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # an unknown email gets the very same answer: no hint about who has an account
    assert unknown["errors"] == wrong["errors"]
    assert right["errors"] == []
    assert right["token"].startswith("fft_")


def test_log_out_revokes_the_token_at_once(client: FlaskClient) -> None:
    token = sign_up(client).json["data"]["signUp"]["token"]

    out = post_graphql(client, "mutation { logOut { ok errors { code } } }", headers=bearer(token))
    assert out.json["data"]["logOut"] == {"ok": True, "errors": []}

    # then the same token is refused with 401 and a GraphQL error
    again = post_graphql(client, WHO_AM_I, headers=bearer(token))
    assert again.status_code == 401
    assert again.json["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert again.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_refused(client: FlaskClient, gateway_app: Flask) -> None:
    token = sign_up(client).json["data"]["signUp"]["token"]
    with gateway_app.extensions["fanfare"].db.transaction() as session:
        session.execute(
            update(AuthToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    response = post_graphql(client, WHO_AM_I, headers=bearer(token))
    assert response.status_code == 401
    assert "expired" in response.json["errors"][0]["message"]


def test_anonymous_callers_have_no_viewer(client: FlaskClient) -> None:
    response = post_graphql(client, WHO_AM_I)
    assert response.status_code == 200
    assert response.json["data"] == {"viewer": None}


def test_log_in_is_limited_per_account(database_url: str, redis_url: str) -> None:
    # given a gateway allowing three log-in attempts per account per window
    app = build_gateway(gateway_settings(database_url, redis_url, login_limit_per_account=3))
    client = app.test_client()
    sign_up(client, email="ann@example.com")

    # when someone keeps guessing
    answers = [log_in(client, "ann@example.com", f"guess {n}") for n in range(3)]
    blocked = log_in(client, "ann@example.com", PASSWORD)

    # then the fourth attempt is refused, even with the right password, with a retry time
    codes = [a.json["data"]["logIn"]["errors"][0]["code"] for a in answers]
    assert codes == ["INVALID_CREDENTIALS"] * 3
    assert blocked.status_code == 429
    retry_after = int(blocked.headers["Retry-After"])
    assert retry_after > 0
    assert blocked.json["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert blocked.json["errors"][0]["message"] == (
        f"Too many attempts; try again in {wait_in_words(retry_after)}."
    )
    assert blocked.json["data"] is None
    app.extensions["fanfare"].db.dispose()


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(1, "1 second"), (45, "45 seconds"), (119, "119 seconds"), (120, "about 2 minutes"),
     (335, "about 6 minutes"), (900, "about 15 minutes")],
)  # fmt: skip
def test_a_rate_limited_wait_reads_as_a_person_would_say_it(seconds: int, words: str) -> None:
    assert wait_in_words(seconds) == words


def test_sign_up_is_limited_per_ip(database_url: str, redis_url: str) -> None:
    app = build_gateway(gateway_settings(database_url, redis_url, signup_limit_per_ip=2))
    client = app.test_client()

    first = sign_up(client, email="a@example.com")
    second = sign_up(client, email="b@example.com")
    third = sign_up(client, email="c@example.com")

    assert first.json["data"]["signUp"]["token"]
    assert second.json["data"]["signUp"]["token"]
    assert third.status_code == 429
    assert third.json["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    app.extensions["fanfare"].db.dispose()


PORTAL = {"X-Fanfare-Session": "cookie"}


def test_the_portal_gets_an_http_only_same_site_cookie_and_must_send_its_csrf_token(
    client: FlaskClient,
) -> None:
    # when the portal signs up asking for a cookie session
    response = sign_up(client, headers=PORTAL)

    # then no token reaches JavaScript; an HttpOnly, SameSite session cookie is set
    assert response.json["data"]["signUp"]["token"] is None
    assert response.json["data"]["signUp"]["user"]["email"] == "ann@example.com"
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("fanfare_session="))
    csrf_cookie = next(c for c in cookies if c.startswith("fanfare_csrf="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "HttpOnly" not in csrf_cookie
    csrf = csrf_cookie.split(";", 1)[0].split("=", 1)[1]

    # and a request with the cookie but without the CSRF header is refused
    forged = post_graphql(client, WHO_AM_I)
    assert forged.status_code == 403
    assert forged.json["errors"][0]["extensions"]["code"] == "CSRF_FAILED"

    # while the portal, echoing the CSRF cookie in the header, is the fan
    mine = post_graphql(client, WHO_AM_I, headers={"X-CSRF-Token": csrf})
    assert mine.json["data"]["viewer"]["user"]["email"] == "ann@example.com"

    # and logging out ends the session and clears both cookies
    out = post_graphql(client, "mutation { logOut { ok } }", headers={"X-CSRF-Token": csrf})
    assert out.json["data"]["logOut"]["ok"] is True
    cleared = out.headers.getlist("Set-Cookie")
    assert any(c.startswith("fanfare_session=;") for c in cleared)
    assert post_graphql(client, WHO_AM_I).json["data"] == {"viewer": None}


def test_cookies_are_secure_in_production(database_url: str, redis_url: str) -> None:
    app = build_gateway(gateway_settings(database_url, redis_url, environment="production"))
    response = sign_up(app.test_client(), headers=PORTAL)
    assert all("Secure" in c for c in response.headers.getlist("Set-Cookie"))
    app.extensions["fanfare"].db.dispose()


def test_preferences_change_the_display_name_and_channel(client: FlaskClient) -> None:
    token = sign_up(client).json["data"]["signUp"]["token"]
    response = post_graphql(
        client,
        """mutation { updatePreferences(input: {displayName: "Annie", thankYouChannel: NONE}) {
             user { displayName thankYouChannel } errors { code } } }""",
        headers=bearer(token),
    )
    assert response.json["data"]["updatePreferences"] == {
        "user": {"displayName": "Annie", "thankYouChannel": "NONE"},
        "errors": [],
    }
