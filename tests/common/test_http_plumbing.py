"""What every service answers over HTTP: auth, health, errors, metrics, request ids."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from fanfare.embedded import free_port
from gateway.app import create_app as create_gateway_app
from gateway.core.backends import ServiceClient
from gateway.settings import GatewaySettings
from services.common import migrations
from services.common.internal_auth import Principal, issue_internal_token
from services.common.runtime import ServiceRuntime
from services.content.app import create_app as create_content_app
from services.content.settings import ContentSettings
from tests.support.live import serve

SECRET = "a-test-secret-that-is-long-enough-for-hs256-and-hs512-0123456789"
FAN = Principal(role="fan", user_id="user-1")


@pytest.fixture
def content_app(database_url: str, redis_url: str) -> Iterator[Flask]:
    settings = ContentSettings(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        internal_token_secret=SECRET,
    )
    app = create_content_app(settings)
    migrations.upgrade(app_migrations_dir(), database_url)
    yield app
    app.extensions["fanfare"].db.dispose()


def app_migrations_dir() -> Path:
    from fanfare.apps import get_app_spec

    return get_app_spec("content").migrations_dir


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_internal_token_is_accepted_and_names_the_caller(content_app: Flask) -> None:
    # given a token the gateway signed for the content service
    token = issue_internal_token(FAN, audience="content", secret=SECRET)

    # when the caller asks the service who it is
    response = content_app.test_client().get("/v1/principal", headers=bearer(token))

    # then the service accepts it and sees the fan
    assert response.status_code == 200
    assert response.json == {"role": "fan", "user_id": "user-1", "api_key_id": None, "scopes": []}


def signed_with(key: str, algorithm: str, **claims: object) -> dict[str, str]:
    now = int(time.time())
    defaults = {
        "sub": "x",
        "role": "admin",
        "aud": "content",
        "iss": "fanfare-gateway",
        "iat": now,
        "exp": now + 60,
    }
    return bearer(jwt.encode({**defaults, **claims}, key=key, algorithm=algorithm))


# Header factories, not headers: tokens are made when the test runs, so a slow
# suite cannot turn a "wrong audience" token into an expired one.
REFUSED_CALLERS: dict[str, tuple[Callable[[], dict[str, str]], str]] = {
    "none": (dict, "TOKEN_MISSING"),
    "basic-auth": (lambda: {"Authorization": "Basic dXNlcjpwYXNz"}, "TOKEN_MISSING"),
    "garbage": (lambda: bearer("not-a-jwt"), "TOKEN_INVALID"),
    "wrong-secret": (
        lambda: bearer(issue_internal_token(FAN, audience="content", secret="x" * 40)),
        "TOKEN_INVALID",
    ),
    "other-audience": (
        lambda: bearer(issue_internal_token(FAN, audience="rewards", secret=SECRET)),
        "TOKEN_INVALID",
    ),
    "other-issuer": (lambda: signed_with(SECRET, "HS256", iss="someone-else"), "TOKEN_INVALID"),
    "expired": (
        lambda: bearer(
            issue_internal_token(
                FAN, audience="content", secret=SECRET, ttl_seconds=30, now=time.time() - 120
            )
        ),
        "TOKEN_EXPIRED",
    ),
    "alg-none": (lambda: signed_with("", "none"), "TOKEN_INVALID"),
    "other-algorithm": (lambda: signed_with(SECRET, "HS512"), "TOKEN_INVALID"),
}


@pytest.mark.parametrize("caller", REFUSED_CALLERS)
def test_a_request_without_a_valid_internal_token_gets_401(content_app: Flask, caller: str) -> None:
    make_headers, code = REFUSED_CALLERS[caller]

    # when a caller other than the gateway reaches a service
    response = content_app.test_client().get("/v1/principal", headers=make_headers())

    # then it is refused with the error envelope and a stable code
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


def test_a_token_accepted_before_is_refused_once_it_expires(content_app: Flask) -> None:
    # given a token with one to two seconds of life left (its exp plus the 5 s leeway)
    second = int(time.time())
    token = issue_internal_token(
        FAN, audience="content", secret=SECRET, ttl_seconds=2, now=second - 5
    )
    client = content_app.test_client()
    assert client.get("/v1/principal", headers=bearer(token)).status_code == 200

    # when the same token comes back after its life is over
    time.sleep(max(0.0, second + 2.05 - time.time()))
    response = client.get("/v1/principal", headers=bearer(token))

    # then the service refuses it, although it accepted the same bytes before
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"]["code"] == "TOKEN_EXPIRED"


def test_health_and_readiness_need_no_token(content_app: Flask) -> None:
    client = content_app.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


def unreachable_database_urls(tmp_path: Path) -> dict[str, str]:
    return {
        "postgresql": f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/missing",
        "sqlite": f"sqlite:///{tmp_path / 'no-such-dir' / 'content.db'}",
    }


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_readyz_answers_503_when_the_database_is_unreachable(
    backend: str, tmp_path: Path, redis_url: str
) -> None:
    # given a service whose database cannot be reached
    app = create_content_app(
        ContentSettings(
            environment="test",
            database_url=unreachable_database_urls(tmp_path)[backend],
            redis_url=redis_url,
            readiness_timeout_seconds=1,
        )
    )
    client = app.test_client()

    # when a load balancer asks whether it is ready
    started = time.monotonic()
    response = client.get("/readyz")

    # then it says no, quickly, naming the database, while still alive
    assert response.status_code == 503
    assert response.json == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "broker": "ok"},
    }
    assert time.monotonic() - started < 3
    assert client.get("/healthz").status_code == 200
    app.extensions["fanfare"].db.dispose()


def test_readyz_answers_503_when_the_broker_is_unreachable(database_url: str) -> None:
    app = create_content_app(
        ContentSettings(
            environment="test",
            database_url=database_url,
            redis_url=f"redis://127.0.0.1:{free_port()}/0",
            readiness_timeout_seconds=1,
        )
    )
    response = app.test_client().get("/readyz")
    app.extensions["fanfare"].db.dispose()
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["checks"] == {"database": "ok", "broker": "unavailable"}


def test_unknown_paths_and_methods_get_the_error_envelope(content_app: Flask) -> None:
    client = content_app.test_client()

    missing = client.get("/no/such/thing")
    assert missing.status_code == 404
    assert missing.json is not None
    assert missing.json["error"]["code"] == "NOT_FOUND"
    assert set(missing.json["error"]) == {"code", "message", "details"}

    wrong_method = client.post("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json is not None
    assert wrong_method.json["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in wrong_method.headers["Allow"]


def test_an_unexpected_error_is_a_500_envelope_without_a_stack_trace(content_app: Flask) -> None:
    # given a view that fails in a way nobody planned for
    def broken() -> str:
        raise ZeroDivisionError("secret internals")

    broken._fanfare_public = True  # type: ignore[attr-defined]
    content_app.add_url_rule("/broken", "broken", broken)

    # when it is called
    response = content_app.test_client().get("/broken")

    # then the caller learns nothing of the internals
    assert response.status_code == 500
    assert response.json == {
        "error": {"code": "INTERNAL", "message": "Something went wrong on our side.", "details": {}}
    }
    assert b"secret internals" not in response.data
    assert b"Traceback" not in response.data


def metric_value(client: FlaskClient, prefix: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    values = [
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    ]
    return sum(values)


def test_metrics_count_requests_and_show_the_outbox_backlog(content_app: Flask) -> None:
    client = content_app.test_client()
    runtime: ServiceRuntime = content_app.extensions["fanfare"]
    assert runtime.outbox is not None
    counter = (
        "fanfare_http_requests_total"
        '{endpoint="/healthz",method="GET",service="content",status="200"}'
    )
    before = metric_value(client, counter)

    # given two health checks and three events waiting to be relayed
    client.get("/healthz")
    client.get("/healthz")
    with runtime.db.transaction() as session:
        for number in range(3):
            runtime.outbox.add(session, "content.example", {"n": number})

    # when Prometheus scrapes the service
    response = client.get("/metrics")
    text = response.get_data(as_text=True)

    # then it sees both, in its own text format
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert metric_value(client, counter) - before == 2
    assert 'fanfare_outbox_backlog{service="content"} 3.0' in text
    assert "fanfare_http_request_duration_seconds_bucket" in text


def test_the_request_id_travels_from_the_gateway_to_the_service(
    content_app: Flask, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # given the gateway serving a request that came in with an id
    gateway = create_gateway_app(
        GatewaySettings(
            environment="test",
            redis_url=redis_url,
            internal_token_secret=SECRET,
            database_url="sqlite://",
        )
    )

    @content_app.get("/v1/echo")
    def echo() -> dict[str, str]:
        logging.getLogger("content.echo").info("echo served")
        return {"ok": "yes"}

    with (
        serve(content_app) as content_url,
        gateway.test_request_context(headers={"X-Request-ID": "req-travels-1"}),
    ):
        gateway.preprocess_request()
        client = ServiceClient("content", content_url, secret=SECRET, timeout=2)

        # when the gateway calls the content service for that request
        with caplog.at_level(logging.INFO, logger="content.echo"):
            response = client.request("GET", "/v1/echo", FAN)

    # then the service answered under the same id and logged with it
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-travels-1"
    echoed = [r for r in caplog.records if r.getMessage() == "echo served"]
    assert [r.request_id for r in echoed] == ["req-travels-1"]  # type: ignore[attr-defined]


def test_a_malformed_request_id_is_replaced_not_echoed(content_app: Flask) -> None:
    response = content_app.test_client().get(
        "/healthz", headers={"X-Request-ID": "bad id; <script>"}
    )
    assert response.headers["X-Request-ID"] != "bad id; <script>"
    assert len(response.headers["X-Request-ID"]) == 32


def test_settings_never_print_their_secrets() -> None:
    settings = ContentSettings(internal_token_secret=SECRET)
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)
    assert SECRET not in str(settings.model_dump())
