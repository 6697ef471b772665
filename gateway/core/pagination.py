"""Connections over the services' pages (``items``, ``page_info``, ``total_count``).

The services hand out one cursor per page (after its last item). Relay wants
one per edge, so the gateway's cursors name a place in a list as "the
service's cursor, then skip this many items": an edge in the middle of a page
points at the cursor the page was fetched with plus its position. They are
opaque to clients, like the services' own.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from gateway.core.errors import BadUserInput

DEFAULT_PAGE_SIZE = 20
# The services' own page limit: a skip past it cannot be served in one call.
SERVICE_MAX_PAGE_SIZE = 100
_CURSOR_PREFIX = "gw1:"


def page_params(first: int | None, after: str | None, max_page_size: int) -> dict[str, Any]:
    """The service's page parameters for a connection whose cursors are the service's own."""
    size = _page_size(first, max_page_size)
    params: dict[str, Any] = {"first": size}
    if after:
        params["after"] = after
    return params


@dataclass(frozen=True)
class PageWindow:
    """Which items of a service's list a connection shows: ``size`` after ``skip``."""

    size: int
    service_after: str | None
    skip: int

    @property
    def params(self) -> dict[str, Any]:
        """What to ask the service for: enough items to skip and still fill the page."""
        params: dict[str, Any] = {
            "first": max(1, min(self.size + self.skip, SERVICE_MAX_PAGE_SIZE))
        }
        if self.service_after:
            params["after"] = self.service_after
        return params

    def shown(self, items: list[Any]) -> list[Any]:
        """The items of the service's page that the connection shows."""
        return items[self.skip : self.skip + self.size]


def page_window(first: int | None, after: str | None, max_page_size: int) -> PageWindow:
    """The window a connection's ``first`` and ``after`` (a cursor we gave out) ask for."""
    size = _page_size(first, max_page_size)
    if not after:
        return PageWindow(size=size, service_after=None, skip=0)
    service_after, skip = decode_cursor(after)
    return PageWindow(size=size, service_after=service_after, skip=skip)


def encode_cursor(service_after: str | None, skip: int) -> str:
    raw = f"{_CURSOR_PREFIX}{skip}:{service_after or ''}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str | None, int]:
    """(the service's cursor, items to skip after it); BAD_USER_INPUT if not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith(_CURSOR_PREFIX):
            raise ValueError(raw)
        skip_text, _, service_after = raw[len(_CURSOR_PREFIX) :].partition(":")
        skip = int(skip_text)
        if not 0 <= skip < SERVICE_MAX_PAGE_SIZE:
            raise ValueError(skip_text)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise BadUserInput(
            "'after' is not a cursor this list gave out; pass an edge's cursor or "
            "pageInfo.endCursor back unchanged, or leave it out to start again."
        ) from exc
    return service_after or None, skip


def connection_from_page(
    page: dict[str, Any], *, node_type: str, window: PageWindow | None = None
) -> dict[str, Any]:
    """A connection's fields from one service page.

    With the ``window`` the page was fetched for, every edge gets its own
    cursor; without it, the service's (per item if it gives them, else the
    page's end cursor on the last edge).
    """
    items = page.get("items") or []
    info = page.get("page_info") or {}
    service_has_next = bool(info.get("has_next_page"))
    if window is None:
        cursors = [
            item.get("cursor") or (info.get("end_cursor") if index == len(items) - 1 else "")
            for index, item in enumerate(items)
        ]
        end_cursor = info.get("end_cursor")
        has_next_page = service_has_next
    else:
        shown = window.shown(items)
        cursors = [
            _edge_cursor(window, window.skip + index + 1, len(items), info.get("end_cursor"))
            for index in range(len(shown))
        ]
        has_next_page = service_has_next or len(items) > window.skip + window.size
        items = shown
        end_cursor = cursors[-1] if cursors else None
    edges = [
        {"node": {**item, "__typename": node_type}, "cursor": cursor or ""}
        for item, cursor in zip(items, cursors, strict=True)
    ]
    return {
        "edges": edges,
        "page_info": {
            "has_next_page": has_next_page,
            "has_previous_page": False,
            "start_cursor": edges[0]["cursor"] if edges else None,
            "end_cursor": end_cursor,
        },
        "total_count": int(page.get("total_count") or 0),
    }


def _edge_cursor(
    window: PageWindow, position: int, fetched: int, service_end_cursor: str | None
) -> str:
    """The cursor after the item at ``position`` (1-based) of the fetched items."""
    if position == fetched and service_end_cursor:
        # After the last item fetched: the service's own cursor, nothing to skip.
        return encode_cursor(service_end_cursor, 0)
    return encode_cursor(window.service_after, position)


def _page_size(first: int | None, max_page_size: int) -> int:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if size < 0 or size > max_page_size:
        raise BadUserInput(f"'first' must be between 0 and {max_page_size}.")
    return size
