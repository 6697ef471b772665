"""The REST plumbing of rewards: a route decorator that also documents, access, cursors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint
from marshmallow import Schema

from services.common.internal_auth import Principal, current_principal
from services.common.storable_input import is_record_id
from services.rewards.errors import Forbidden, InvalidInput

F = TypeVar("F", bound=Callable[..., Any])

STAFF_ROLES = frozenset({"marketer", "admin", "system"})

api = Blueprint("rewards_api", __name__, url_prefix="/v1")


@dataclass(frozen=True)
class EndpointDoc:
    rule: str
    method: str
    summary: str
    tag: str
    body: type[Schema] | None
    query: type[Schema] | None
    response: type[Schema] | None
    status: int
    access: str


ENDPOINTS: list[EndpointDoc] = []


def endpoint(
    rule: str,
    method: str,
    *,
    summary: str,
    tag: str,
    access: str,
    body: type[Schema] | None = None,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    status: int = 200,
) -> Callable[[F], F]:
    """Route a view and record it for openapi.json, from the same schemas."""

    def register(view: F) -> F:
        api.add_url_rule(rule, view.__name__, view, methods=[method])
        ENDPOINTS.append(
            EndpointDoc(rule, method, summary, tag, body, query, response, status, access)
        )
        return view

    return register


def require_staff() -> Principal:
    principal = current_principal()
    if principal.role not in STAFF_ROLES:
        raise Forbidden("Only marketers and admins may do this.")
    return principal


def require_self_or_staff(fan_id: str) -> Principal:
    """A fan only ever sees their own data; staff see any fan's."""
    principal = current_principal()
    if principal.role in STAFF_ROLES or is_owner(principal, fan_id):
        return principal
    raise Forbidden("A fan may only see and change their own rewards.")


def require_self_or_system(fan_id: str) -> Principal:
    """Spending a fan's points is for the fan (or the gateway acting for them)."""
    principal = current_principal()
    if principal.role == "system" or is_owner(principal, fan_id):
        return principal
    raise Forbidden("Only the fan may spend their points.")


def is_owner(principal: Principal, fan_id: str) -> bool:
    return principal.role == "fan" and principal.user_id == fan_id


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = text.partition(":")
        if prefix != "id" or not is_record_id(value):
            raise ValueError(prefix)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "The cursor is not one this service handed out; start again without 'after'.",
            details={"fields": {"after": ["Invalid cursor."]}},
        ) from exc


def parse_ids(text: str, *, limit: int = 200) -> list[str]:
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids or len(ids) > limit:
        raise InvalidInput(
            f"Pass between 1 and {limit} comma-separated ids.",
            details={"fields": {"ids": [f"1 to {limit} ids."]}},
        )
    return ids
