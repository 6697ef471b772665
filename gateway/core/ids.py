"""Relay global ids: opaque to clients, naming the type and the service's own id."""

from __future__ import annotations

import base64
import binascii

from graphql_relay import from_global_id, to_global_id


def global_id(type_name: str, raw_id: str) -> str:
    return to_global_id(type_name, raw_id)


def decode_global_id(value: str) -> tuple[str, str] | None:
    """(type name, raw id), or None when ``value`` is not one of our ids."""
    try:
        base64.b64decode(value.encode(), validate=True)
        resolved = from_global_id(value)
    except (binascii.Error, ValueError, UnicodeError):
        return None
    if not resolved.type or not resolved.id:
        return None
    return resolved.type, resolved.id


def raw_id_of(value: str, expected_type: str) -> str | None:
    """The raw id if ``value`` is a global id of ``expected_type``."""
    decoded = decode_global_id(value)
    if decoded is None or decoded[0] != expected_type:
        return None
    return decoded[1]
