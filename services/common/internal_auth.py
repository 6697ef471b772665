"""Short-lived signed tokens from the gateway to the services.

The gateway authenticates the caller, then tells a service who the caller is
with an HS256 JWT meant for that service alone (``aud``), valid for seconds
(``exp``). Services trust nothing else: a request without a valid token gets
401, except on endpoints marked :func:`public`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import jwt
from flask import Flask, current_app, g, request

from services.common.errors import Unauthenticated

ALGORITHM = "HS256"
ISSUER = "fanfare-gateway"

Role = Literal["anonymous", "fan", "marketer", "admin", "partner", "system"]
ROLES: frozenset[str] = frozenset({"anonymous", "fan", "marketer", "admin", "partner", "system"})

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Principal:
    """Who a request is made for, as the gateway established it."""

    role: Role
    user_id: str | None = None
    api_key_id: str | None = None
    scopes: tuple[str, ...] = field(default_factory=tuple)

    def as_claims(self) -> dict[str, Any]:
        return {
            "sub": self.user_id or self.api_key_id or self.role,
            "role": self.role,
            "uid": self.user_id,
            "kid": self.api_key_id,
            "scopes": list(self.scopes),
        }

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        role = claims.get("role")
        if role not in ROLES:
            raise Unauthenticated("The internal token names an unknown role.")
        scopes = claims.get("scopes") or []
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise Unauthenticated("The internal token's scopes are malformed.")
        return cls(
            role=role,
            user_id=claims.get("uid"),
            api_key_id=claims.get("kid"),
            scopes=tuple(scopes),
        )


def issue_internal_token(
    principal: Principal,
    *,
    audience: str,
    secret: str,
    ttl_seconds: int = 60,
    now: float | None = None,
) -> str:
    """Sign a token that ``audience`` (a service name) accepts for ``ttl_seconds``."""
    issued_at = int(now if now is not None else time.time())
    claims = {
        **principal.as_claims(),
        "iss": ISSUER,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_internal_token(token: str, *, audience: str, secret: str) -> Principal:
    """The principal in a valid token; :class:`Unauthenticated` for anything else."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            leeway=5,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The internal token has expired.", code="TOKEN_EXPIRED") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(
            "The internal token is not valid for this service.", code="TOKEN_INVALID"
        ) from exc
    return Principal.from_claims(claims)


def public(view: F) -> F:
    """Mark a view as reachable without an internal token (health, redirects)."""
    view._fanfare_public = True  # type: ignore[attr-defined]
    return view


def current_principal() -> Principal:
    """The principal of the request being served."""
    principal: Principal | None = g.get("principal")
    if principal is None:
        raise Unauthenticated("This request carries no principal.")
    return principal


def require_internal_token(app: Flask, *, audience: str, secret: str) -> None:
    """Refuse every non-public request that lacks a valid token for ``audience``."""

    @app.before_request
    def _check_internal_token() -> None:
        view = current_app.view_functions.get(request.endpoint or "")
        if view is None or getattr(view, "_fanfare_public", False):
            return
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated(
                "Send the gateway's internal token as 'Authorization: Bearer <token>'.",
                code="TOKEN_MISSING",
            )
        g.principal = verify_internal_token(token.strip(), audience=audience, secret=secret)
