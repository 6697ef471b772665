"""Views declare their schemas once; the OpenAPI document is built from the same ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from marshmallow import Schema

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict[int, type[Schema] | None]
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    errors: tuple[int, ...] = ()
    public: bool = False
    content_type: str = "application/json"
    tags: tuple[str, ...] = field(default_factory=tuple)


def documented(operation: Operation) -> Callable[[F], F]:
    def attach(view: F) -> F:
        view._openapi = operation  # type: ignore[attr-defined]
        return view

    return attach
