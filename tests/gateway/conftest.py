"""Fixtures for the gateway: the app on a fresh database, and a GraphQL client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fanfare.apps import get_app_spec
from fanfare.embedded import free_port
from gateway.app import create_app
from gateway.settings import GatewaySettings
from services.common import migrations

SECRET = "a-gateway-test-secret-that-is-long-enough-0123456789"
PASSWORD = "correct horse battery"
GraphQL = Callable[..., Any]


def unreachable_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def gateway_settings(database_url: str, redis_url: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "internal_token_secret": SECRET,
        "content_url": unreachable_url(),
        "referrals_url": unreachable_url(),
        "rewards_url": unreachable_url(),
        "log_format": "text",
    }
    values.update(overrides)
    return GatewaySettings(**values)


def build_gateway(settings: GatewaySettings) -> Flask:
    migrations.upgrade(get_app_spec("gateway").migrations_dir, settings.database_url)
    return create_app(settings)


@pytest.fixture
def gateway_app(database_url: str, redis_url: str) -> Iterator[Flask]:
    app = build_gateway(gateway_settings(database_url, redis_url))
    yield app
    app.extensions["fanfare"].db.dispose()


@pytest.fixture
def client(gateway_app: Flask) -> FlaskClient:
    return gateway_app.test_client()


@pytest.fixture
def platform(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Any]:
    """The gateway over the real content, referrals and rewards services (see platform.py)."""
    from tests.gateway.platform import assembled_platform  # it imports this module

    with assembled_platform(database_url, redis_url, tmp_path) as assembled:
        yield assembled


def post_graphql(
    client: FlaskClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST one operation; the test response (``.status_code``, ``.json``, ``.headers``)."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return client.post("/graphql", json=body, headers=headers or {})


SIGN_UP = """
mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { token user { id email displayName role } errors { field message code } }
}
"""
LOG_IN = """
mutation LogIn($input: LogInInput!) {
  logIn(input: $input) { token user { id email role } errors { field message code } }
}
"""


def sign_up(
    client: FlaskClient,
    email: str = "ann@example.com",
    password: str = PASSWORD,
    display_name: str = "Ann",
    headers: dict[str, str] | None = None,
) -> Any:
    return post_graphql(
        client,
        SIGN_UP,
        {"input": {"email": email, "password": password, "displayName": display_name}},
        headers=headers,
    )


def log_in(
    client: FlaskClient,
    email: str,
    password: str,
    headers: dict[str, str] | None = None,
) -> Any:
    return post_graphql(
        client, LOG_IN, {"input": {"email": email, "password": password}}, headers=headers
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
