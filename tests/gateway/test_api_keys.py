"""Partner API keys: created by marketers with scopes, shown once, hashed, revoked at once."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from gateway.identity.users import create_user
from gateway.models import ApiKey
from tests.gateway.conftest import (
    PASSWORD,
    bearer,
    build_gateway,
    gateway_settings,
    log_in,
    post_graphql,
    sign_up,
)

CREATE_KEY = """
mutation ($name: String!, $scopes: [ApiScope!]!) {
  createApiKey(input: {name: $name, scopes: $scopes}) {
    secret apiKey { id name scopes prefix createdAt lastUsedAt revokedAt }
    errors { field code message }
  }
}
"""
LIST_KEYS = "{ apiKeys { id name prefix scopes lastUsedAt revokedAt } }"
REVOKE_KEY = """
mutation ($id: ID!) { revokeApiKey(id: $id) { apiKey { revokedAt } errors { code } } }
"""
RECORD_CONVERSION = """
mutation { recordConversion(input: {externalId: "order-1", referralCode: "abc"}) {
  conversion { id } errors { code } } }
"""


def staff_token(app: Flask, role: str = "marketer") -> str:
    with app.extensions["fanfare"].db.transaction() as session:
        create_user(
            session,
            email=f"{role}@brand.example",
            password=PASSWORD,
            display_name=role,
            role=role,  # type: ignore[arg-type]
        )
    token: str = log_in(app.test_client(), f"{role}@brand.example", PASSWORD).json["data"]["logIn"][
        "token"
    ]
    return token


def create_key(client: FlaskClient, token: str, scopes: list[str], name: str = "Shop") -> Any:
    return post_graphql(
        client, CREATE_KEY, {"name": name, "scopes": scopes}, headers=bearer(token)
    ).json["data"]["createApiKey"]


def test_a_marketer_creates_a_key_whose_secret_is_shown_once(
    client: FlaskClient, gateway_app: Flask
) -> None:
    token = staff_token(gateway_app)

    # when a marketer creates a key with two scopes
    created = create_key(client, token, ["STATS_READ", "CONTENT_READ"])

    # then the secret is returned this once, recognisable by the key's prefix
    secret = created["secret"]
    key = created["apiKey"]
    assert created["errors"] == []
    assert secret.startswith(key["prefix"] + "_")
    assert key["prefix"].startswith("ffk_")
    assert key["scopes"] == ["CONTENT_READ", "STATS_READ"]
    assert key["lastUsedAt"] is None

    # and listing keys never shows it again; only its hash is stored
    listed = post_graphql(client, LIST_KEYS, headers=bearer(token)).json["data"]["apiKeys"]
    assert [k["prefix"] for k in listed] == [key["prefix"]]
    assert "secret" not in listed[0]
    with gateway_app.extensions["fanfare"].db.transaction() as session:
        (stored,) = session.scalars(select(ApiKey))
        assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()


def test_keys_need_a_name_and_known_scopes(client: FlaskClient, gateway_app: Flask) -> None:
    token = staff_token(gateway_app)
    no_scopes = create_key(client, token, [])
    no_name = create_key(client, token, ["CONTENT_READ"], name="  ")
    assert no_scopes["errors"][0]["field"] == ["input", "scopes"]
    assert no_name["errors"][0]["field"] == ["input", "name"]
    assert no_scopes["secret"] is None


def test_fans_and_anonymous_callers_cannot_manage_keys(
    client: FlaskClient, gateway_app: Flask
) -> None:
    fan = sign_up(client).json["data"]["signUp"]["token"]

    variables = {"name": "x", "scopes": ["CONTENT_READ"]}
    as_fan = post_graphql(client, CREATE_KEY, variables, headers=bearer(fan))
    as_nobody = post_graphql(client, LIST_KEYS)

    assert as_fan.json["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert as_fan.json["errors"][0]["path"] == ["createApiKey"]
    assert as_nobody.json["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_key_works_records_its_use_and_stops_at_once_when_revoked(
    client: FlaskClient, gateway_app: Flask
) -> None:
    token = staff_token(gateway_app)
    created = create_key(client, token, ["CONTENT_READ"])
    partner = {"X-API-Key": created["secret"]}

    # when the partner calls with the key
    used = post_graphql(client, "{ viewer { user { id } } }", headers=partner)

    # then it is accepted (a partner has no viewer) and its use is recorded
    assert used.status_code == 200
    assert used.json["data"] == {"viewer": None}
    listed = post_graphql(client, LIST_KEYS, headers=bearer(token)).json["data"]["apiKeys"]
    assert listed[0]["lastUsedAt"] is not None

    # when a marketer revokes it, the very next call is refused
    key_id = created["apiKey"]["id"]
    revoked = post_graphql(client, REVOKE_KEY, {"id": key_id}, headers=bearer(token))
    assert revoked.json["data"]["revokeApiKey"]["apiKey"]["revokedAt"] is not None
    refused = post_graphql(client, "{ viewer { user { id } } }", headers=partner)
    assert refused.status_code == 401
    assert refused.json["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("parameter", ["api_key", "key", "access_token", "q"])
def test_credentials_in_the_url_are_refused(
    client: FlaskClient, gateway_app: Flask, parameter: str
) -> None:
    secret = create_key(client, staff_token(gateway_app), ["CONTENT_READ"])["secret"]
    response = client.post(
        f"/graphql?{parameter}={secret}", json={"query": "{ viewer { user { id } } }"}
    )
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["extensions"]["code"] == "CREDENTIALS_IN_URL"


def test_a_key_past_its_rate_limit_gets_429_with_retry_after(
    database_url: str, redis_url: str
) -> None:
    # given keys with a bucket of three requests, refilled at one every two seconds
    app = build_gateway(
        gateway_settings(database_url, redis_url, api_key_burst=3, api_key_rate_per_second=0.5)
    )
    client = app.test_client()
    partner = {"X-API-Key": create_key(client, staff_token(app), ["CONTENT_READ"])["secret"]}

    # when the partner sends four requests at once
    statuses = [
        post_graphql(client, "{ __typename }", headers=partner).status_code for _ in range(3)
    ]
    limited = post_graphql(client, "{ __typename }", headers=partner)

    # then the fourth is refused with 429 and told when to come back
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 2
    assert limited.json["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    app.extensions["fanfare"].db.dispose()


def test_a_partner_needs_the_scope_a_mutation_declares(
    client: FlaskClient, gateway_app: Flask
) -> None:
    secret = create_key(client, staff_token(gateway_app), ["CONTENT_READ"])["secret"]
    response = post_graphql(client, RECORD_CONVERSION, headers={"X-API-Key": secret})
    assert response.json["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "CONVERSIONS_WRITE" in response.json["errors"][0]["message"]


def test_introspection_is_off_for_partner_keys_in_production(
    database_url: str, redis_url: str
) -> None:
    app = build_gateway(gateway_settings(database_url, redis_url, environment="production"))
    client = app.test_client()
    token = staff_token(app)
    secret = create_key(client, token, ["CONTENT_READ"])["secret"]
    introspection = "{ __schema { queryType { name } } }"

    as_partner = post_graphql(client, introspection, headers={"X-API-Key": secret})
    as_marketer = post_graphql(client, introspection, headers=bearer(token))

    assert as_partner.status_code == 400
    assert as_partner.json["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert as_marketer.json["data"] == {"__schema": {"queryType": {"name": "Query"}}}
    app.extensions["fanfare"].db.dispose()
