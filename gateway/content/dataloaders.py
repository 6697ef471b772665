"""Loaders over the content service: one call per wave, whatever the number of keys."""

from __future__ import annotations

from typing import Any

from gateway.core.context import GraphQLContext
from gateway.core.loaders import BatchLoader
from gateway.interfaces import BackendError
from services.common.storable_input import is_record_id


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


def assets_by_id(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """Assets by id (``GET /v1/assets/<id>``, marketers); content has no batch read of
    assets, so a wave asks for each (``node(id:)`` asks for one)."""

    def fetch(asset_ids: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for asset_id in asset_ids:
            if not is_record_id(asset_id):
                continue
            try:
                found[asset_id] = context.backend("content").call(
                    "GET", f"/v1/assets/{asset_id}", context.principal
                )
            except BackendError as error:
                if error.status != 404:
                    raise
        return found

    return context.loaders.loader(("content", "asset"), fetch, name="AssetById")
