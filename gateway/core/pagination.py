"""Connections over the services' pages (``items``, ``page_info``, ``total_count``)."""

from __future__ import annotations

from typing import Any

from gateway.core.errors import BadUserInput

DEFAULT_PAGE_SIZE = 20


def page_params(first: int | None, after: str | None, max_page_size: int) -> dict[str, Any]:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if size < 0 or size > max_page_size:
        raise BadUserInput(f"'first' must be between 0 and {max_page_size}.")
    params: dict[str, Any] = {"first": size}
    if after:
        params["after"] = after
    return params


def connection_from_page(page: dict[str, Any], *, node_type: str) -> dict[str, Any]:
    """A connection's fields from one service page; cursors are the service's own."""
    items = page.get("items") or []
    info = page.get("page_info") or {}
    edges = []
    for index, item in enumerate(items):
        cursor = item.get("cursor") or (info.get("end_cursor") if index == len(items) - 1 else "")
        edges.append({"node": {**item, "__typename": node_type}, "cursor": cursor or ""})
    return {
        "edges": edges,
        "page_info": {
            "has_next_page": bool(info.get("has_next_page")),
            "has_previous_page": False,
            "start_cursor": edges[0]["cursor"] if edges else None,
            "end_cursor": info.get("end_cursor"),
        },
        "total_count": int(page.get("total_count") or 0),
    }
