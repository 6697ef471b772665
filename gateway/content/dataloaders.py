"""Loaders over the content service: one call per wave, whatever the number of keys."""

from __future__ import annotations

from typing import Any

from gateway.core.context import GraphQLContext
from gateway.core.loaders import BatchLoader


def packs_by_id(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """Packs by id (``GET /v1/packs?ids=``); the service hides what the caller may not see."""

    def fetch(pack_ids: list[str]) -> dict[str, dict[str, Any]]:
        body = context.backend("content").call(
            "GET",
            "/v1/packs",
            context.principal,
            params={"ids": ",".join(pack_ids)},
        )
        return {str(item["id"]): item for item in body.get("items", [])}

    return context.loaders.loader(("content", "pack"), fetch, name="ContentPackById")
