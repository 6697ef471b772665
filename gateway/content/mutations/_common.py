"""Helpers the content mutations share."""

from __future__ import annotations

from typing import Any

from gateway.core.context import GraphQLContext
from gateway.core.ids import raw_id_of
from gateway.identity.errors import NotFound


def pack_id_from(global_id: str, *, field: str = "packId") -> str:
    raw = raw_id_of(global_id, "ContentPack")
    if raw is None:
        raise NotFound("No content pack has this id.", field=field)
    return raw


def pack_call(context: GraphQLContext, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    body: dict[str, Any] = context.backend("content").call(
        method, path, context.principal, **kwargs
    )
    return {**body, "__typename": "ContentPack"}
