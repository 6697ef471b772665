"""GraphQL inputs as the services' JSON: snake_case keys, enum values, ISO times."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any


def to_json(value: Any, *, drop_none: bool = True) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {
            key: to_json(item, drop_none=drop_none)
            for key, item in value.items()
            if not (drop_none and item is None)
        }
    if isinstance(value, list | tuple):
        return [to_json(item, drop_none=drop_none) for item in value]
    return value


def enum_value(value: Any, allowed: tuple[str, ...], default: str) -> str:
    """A service's value as one of a GraphQL enum's values (``default`` if unknown)."""
    text = str(value or "").upper()
    return text if text in allowed else default


def upper(value: Any) -> Any:
    """The services may write enum values in lower case; GraphQL's are upper case."""
    return value.upper() if isinstance(value, str) else value
