"""Loaders over the rewards service: one call per wave, whatever the number of fans."""

from __future__ import annotations

from typing import Any

from gateway.core.context import GraphQLContext
from gateway.core.loaders import BatchLoader


def fan_profiles(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """A fan's tier, balance, lifetime points and badges, by fan id (``GET /v1/fans?ids=``)."""

    def fetch(fan_ids: list[str]) -> dict[str, dict[str, Any]]:
        body = context.backend("rewards").call(
            "GET", "/v1/fans", context.principal, params={"ids": ",".join(fan_ids)}
        )
        return {str(item["fan_id"]): item for item in body.get("items", [])}

    return context.loaders.loader(("rewards", "fan_profile"), fetch, name="FanProfileByFanId")
