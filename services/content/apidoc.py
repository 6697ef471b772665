"""What each view promises, kept on the view so the OpenAPI document cannot drift from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from marshmallow import Schema

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ApiDoc:
    summary: str
    response: type[Schema] | None = None
    status: int = 200
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    multipart: type[Schema] | None = None
    errors: tuple[int, ...] = ()
    public: bool = False
    # For views that answer with something other than JSON (images, redirects).
    raw_response: dict[str, Any] = field(default_factory=dict)


def api_doc(**kwargs: Any) -> Callable[[F], F]:
    """Attach an :class:`ApiDoc` to a view function."""

    def attach(view: F) -> F:
        view._api_doc = ApiDoc(**kwargs)  # type: ignore[attr-defined]
        return view

    return attach


def doc_of(view: Callable[..., Any]) -> ApiDoc | None:
    doc: ApiDoc | None = getattr(view, "_api_doc", None)
    return doc
