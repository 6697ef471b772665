"""Property-based fuzzing of a service's REST API from its committed OpenAPI document.

Schemathesis generates requests for every documented operation (valid and invalid
bodies, path and query parameters) and sends each to the real Flask app in-process
(WSGI) once as every caller the test names (a marketer, a fan...), each with a real
internal token. Each answer must hold to the standard every service keeps:

- never a 5xx;
- every 4xx is the common error envelope, ``{"error": {"code", "message", "details"}}``,
  with a stable upper-case ``code`` and a message that is not empty;
- a documented answer (2xx with a schema) conforms to its schema.

Path parameters are now and then replaced by ids the test seeded, so the generated
requests reach existing records and not only 404s.

The run is deterministic (``derandomize``) and bounded for CI: ``FUZZ_EXAMPLES`` (default
20) examples per operation in the fuzzing phase, plus the cases schemathesis derives from
the schema's examples and constraints. Run harder with, e.g.,
``FUZZ_EXAMPLES=300 pytest tests/<service>/test_api_fuzz.py``, and on SQLite with
``FUZZ_DATABASE=sqlite``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from services.common.internal_auth import Principal, issue_internal_token
from tests.support.postgres import PostgresHarness

ROOT = Path(__file__).resolve().parents[2]
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
FUZZ_DATABASE = os.environ.get("FUZZ_DATABASE", "postgresql")
# Long enough for the hardest development run; the services check exp like any other token.
TOKEN_TTL_SECONDS = 3600
STABLE_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")

fuzz_settings = settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    # The app is module-scoped on purpose (one migrated database per service), and some
    # operations have so few distinct inputs that hypothesis would otherwise complain.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


class ServiceApi:
    """One service's committed OpenAPI document, the callers to try, and seeded ids."""

    def __init__(self, service: str, *, secret: str, callers: Sequence[Principal]) -> None:
        self.service = service
        self.document_path = ROOT / "services" / service / "openapi.json"
        self.schema = schemathesis.openapi.from_path(self.document_path)
        # Every generated request is sent once as each caller: most operations answer one
        # role only, and a drawn caller would leave the rest of them at their 403.
        self.caller_headers = [
            {"Authorization": f"Bearer {token}"}
            for token in (
                issue_internal_token(
                    caller, audience=service, secret=secret, ttl_seconds=TOKEN_TTL_SECONDS
                )
                for caller in callers
            )
        ]
        # Path parameter name -> values that name a seeded record (filled by the fixture).
        self.known_values: dict[str, list[str]] = {}
        known_values = self.known_values

        # Schemathesis finds a schema-scoped hook by its function's name.
        @self.schema.hook
        def flatmap_path_parameters(
            context: Any, path_parameters: dict[str, Any] | None
        ) -> st.SearchStrategy[dict[str, Any] | None]:
            if not path_parameters:
                return st.just(path_parameters)
            choices = {
                name: st.sampled_from([value, *known_values.get(name, [])])
                for name, value in path_parameters.items()
            }
            return st.fixed_dictionaries(choices)

    def seed(self, **values: Sequence[object]) -> None:
        """Let generated path parameters name these seeded records now and then."""
        for name, known in values.items():
            self.known_values[name] = [str(value) for value in known]

    def call_and_check(self, case: Any, *, app: Any) -> None:
        """Send ``case`` to ``app`` in-process as each caller; hold each answer to the standard."""
        for headers in self.caller_headers:
            case.headers = {**(case.headers or {}), **headers}
            response = case.call(app=app)
            case.validate_response(response, checks=CHECKS)


def error_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 4xx is the common envelope with a stable code and a message that says something.

    The one exception is a public page people open in a browser (referrals' ``/r/<code>``):
    it answers a bad link with an HTML page, as its document says.
    """
    if not 400 <= response.status_code < 500:
        return None
    if _is_public_page(case) and _content_type(response).startswith("text/html"):
        return None
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(
            f"{response.status_code} is not JSON: {response.content[:200]!r}"
        ) from exc
    problem = envelope_problem(body)
    if problem is not None:
        raise AssertionError(f"{response.status_code} {problem}: {body!r}")
    return None


def envelope_problem(body: Any) -> str | None:
    """What is wrong with ``body`` as the common error envelope, or None."""
    if not isinstance(body, dict) or set(body) != {"error"}:
        return "is not the error envelope"
    error = body["error"]
    if not isinstance(error, dict):
        return "has no error object"
    code, message = error.get("code"), error.get("message")
    if not isinstance(code, str) or not STABLE_CODE.match(code):
        return "has no stable upper-case code"
    if not isinstance(message, str) or not message.strip():
        return "has an empty message"
    if not isinstance(error.get("details"), dict):
        return "has no details object"
    return None


def _is_public_page(case: Any) -> bool:
    security: Any = case.operation.definition.raw.get("security")
    return isinstance(security, list) and not security


def _content_type(response: Any) -> str:
    values = response.headers.get("content-type") or [""]
    return str(values[0]).lower()


CHECKS = [not_a_server_error, error_envelope, response_schema_conformance]


@contextmanager
def fuzz_database(postgres: PostgresHarness, directory: Path) -> Iterator[str]:
    """A fresh database for one module: PostgreSQL, or SQLite with ``FUZZ_DATABASE=sqlite``."""
    if FUZZ_DATABASE == "sqlite":
        yield f"sqlite:///{directory / 'fuzz.db'}"
        return
    url = postgres.create_database(prefix="fuzz")
    try:
        yield url
    finally:
        postgres.drop_database(url)
