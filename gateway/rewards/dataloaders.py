"""Loaders over the rewards service: one call per wave, whatever the number of fans."""

from __future__ import annotations

from typing import Any

from gateway.core.context import GraphQLContext
from gateway.core.loaders import BatchLoader, Future, then
from gateway.rewards.records import catalog_record, reward_record
from services.common.storable_input import is_record_id

# The most ids rewards takes in one ``?ids=`` read of a fan's rewards.
REWARD_IDS_PER_CALL = 100


def fan_profiles(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """A fan's tier, balance, lifetime points and badges, by fan id (``GET /v1/fans?ids=``)."""

    def fetch(fan_ids: list[str]) -> dict[str, dict[str, Any]]:
        body = context.backend("rewards").call(
            "GET", "/v1/fans", context.principal, params={"ids": ",".join(fan_ids)}
        )
        return {str(item["fan_id"]): item for item in body.get("items", [])}

    return context.loaders.loader(("rewards", "fan_profile"), fetch, name="FanProfileByFanId")


def catalog_items_by_id(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """Catalog items by id, from the catalog (``GET /v1/catalog``; staff also see inactive ones)."""

    def fetch(item_ids: list[str]) -> dict[str, dict[str, Any]]:
        params = {"include_inactive": "true"} if context.caller.is_staff else None
        body = context.backend("rewards").call(
            "GET", "/v1/catalog", context.principal, params=params
        )
        wanted = set(item_ids)
        return {
            str(item["id"]): catalog_record(item)
            for item in body.get("items", [])
            if str(item["id"]) in wanted
        }

    return context.loaders.loader(("rewards", "catalog_item"), fetch, name="CatalogItemById")


def viewer_rewards_by_id(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """The viewer's own rewards by id, in one call (``GET /v1/fans/<fan>/rewards?ids=``).

    Rewards answers only the fan's own among the ids asked, so another fan's
    reward is simply not found. Reward ids are whole numbers: anything else
    cannot be one, and is not asked for.
    """
    fan_id = context.principal.user_id

    def fetch(reward_ids: list[str]) -> dict[str, dict[str, Any]]:
        wanted = [reward_id for reward_id in reward_ids if is_record_id(reward_id)]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), REWARD_IDS_PER_CALL):
            body = context.backend("rewards").call(
                "GET",
                f"/v1/fans/{fan_id}/rewards",
                context.principal,
                params={"ids": ",".join(wanted[start : start + REWARD_IDS_PER_CALL])},
            )
            for item in body.get("items", []):
                found[str(item["id"])] = reward_record(item, fan_id=fan_id)
        return found

    return context.loaders.loader(("rewards", "viewer_reward"), fetch, name="ViewerRewardById")


def pack_reward_stats(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """Rewards and points issued per pack, for the funnel (``GET /v1/pack-stats?ids=``; staff)."""

    def fetch(pack_ids: list[str]) -> dict[str, dict[str, Any]]:
        body = context.backend("rewards").call(
            "GET", "/v1/pack-stats", context.principal, params={"ids": ",".join(pack_ids)}
        )
        return {str(item["pack_id"]): item for item in body.get("items", [])}

    return context.loaders.loader(
        ("rewards", "pack_reward_stats"), fetch, name="PackRewardStatsByPackId"
    )


def viewer_redemptions(context: GraphQLContext, *, fan_id: str) -> Future:
    """The fan's redemptions, newest first, codes included (``GET /v1/fans/<fan>/redemptions``).

    Read once per request for ``Viewer.redemptions`` and the deprecated
    ``Query.viewerRedemptions`` alike.
    """
    body = context.loaders.defer(
        lambda: context.backend("rewards").call(
            "GET", f"/v1/fans/{fan_id}/redemptions", context.principal
        ),
        name="ViewerRedemptions",
    )
    return then(body, lambda page: list(page.get("items") or []))
