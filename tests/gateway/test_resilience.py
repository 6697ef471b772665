"""A service that is down or hangs costs its fields, never the whole answer, a 500 or a hang."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from gateway.core.backends import ServiceClient
from gateway.core.breaker import CircuitBreaker
from gateway.interfaces import BackendUnavailable
from services.common.internal_auth import Principal
from tests.gateway.conftest import (
    SECRET,
    bearer,
    build_gateway,
    gateway_settings,
    post_graphql,
    sign_up,
)

QUERY = "{ viewer { user { email } } balance: viewer { user { pointsBalance } } }"


@contextmanager
def tcp_server(*, answer: bool) -> Iterator[tuple[str, list[int]]]:
    """A real TCP server that either hangs on every request or drops every connection."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    accepted: list[int] = []
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            if answer:
                connection.close()
            else:
                held.append(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        listener.close()


def test_a_down_service_costs_only_its_fields(database_url: str, redis_url: str) -> None:
    # given a gateway whose rewards service is not running
    app = build_gateway(gateway_settings(database_url, redis_url))
    client = app.test_client()
    token = sign_up(client).json["data"]["signUp"]["token"]

    # when a fan asks for their email (gateway) and balance (rewards)
    started = time.monotonic()
    response = post_graphql(client, QUERY, headers=bearer(token))

    # then they get the email, and an error on the balance's path, fast, with 200
    assert time.monotonic() - started < 2
    assert response.status_code == 200
    assert response.json["data"] == {
        "viewer": {"user": {"email": "ann@example.com"}},
        "balance": None,
    }
    (error,) = response.json["errors"]
    assert error["path"] == ["balance", "user", "pointsBalance"]
    assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE", "service": "rewards"}
    app.extensions["fanfare"].db.dispose()


def test_a_hanging_service_is_given_up_on_within_two_seconds_and_then_skipped(
    database_url: str, redis_url: str
) -> None:
    with tcp_server(answer=False) as (rewards_url, _):
        # given a rewards service that accepts connections and never answers,
        # and a breaker that opens after one failure
        app = build_gateway(
            gateway_settings(
                database_url,
                redis_url,
                rewards_url=rewards_url,
                backend_timeout_seconds=1.0,
                circuit_failure_threshold=1,
            )
        )
        client = app.test_client()
        token = sign_up(client).json["data"]["signUp"]["token"]

        # when a fan asks twice
        started = time.monotonic()
        first = post_graphql(client, QUERY, headers=bearer(token))
        first_took = time.monotonic() - started
        started = time.monotonic()
        second = post_graphql(client, QUERY, headers=bearer(token))
        second_took = time.monotonic() - started

    # then the first answer comes within 2 s, and the second at once (circuit open)
    for response in (first, second):
        assert response.status_code == 200
        assert response.json["data"]["viewer"] == {"user": {"email": "ann@example.com"}}
        assert response.json["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert first_took < 2
    assert second_took < 0.5
    app.extensions["fanfare"].db.dispose()


@pytest.mark.parametrize(("method", "attempts"), [("GET", 2), ("POST", 1)])
def test_only_safe_calls_are_retried(method: str, attempts: int) -> None:
    with tcp_server(answer=True) as (url, accepted):
        client = ServiceClient("rewards", url, secret=SECRET, timeout=1, retries=1)
        with pytest.raises(BackendUnavailable):
            client.call(method, "/v1/fans", Principal(role="system"))
    assert len(accepted) == attempts


def test_the_breaker_opens_after_failures_and_lets_one_trial_through_later() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, reset_seconds=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow()

    now[0] = 11
    assert breaker.allow()
    assert not breaker.allow()  # one trial at a time
    breaker.record_success()
    assert breaker.allow()
    assert not breaker.is_open
