"""Loaders over the rewards service: one call per wave, whatever the number of fans."""

from __future__ import annotations

from typing import Any

from gateway.core.context import GraphQLContext
from gateway.core.loaders import BatchLoader, Future, then
from gateway.rewards.records import catalog_record, reward_record

# How far node(id:) looks through a fan's rewards (newest first) for one of them.
REWARD_SCAN_PAGES = 10


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
    """The viewer's own rewards by id.

    Rewards reads rewards by fan only (``GET /v1/fans/<fan>/rewards``, newest
    first), so this pages through the viewer's until every id is found, at most
    ``REWARD_SCAN_PAGES`` pages of 100.
    """
    fan_id = context.principal.user_id

    def fetch(reward_ids: list[str]) -> dict[str, dict[str, Any]]:
        wanted, found = set(reward_ids), {}
        params: dict[str, Any] = {"first": 100}
        for _ in range(REWARD_SCAN_PAGES):
            body = context.backend("rewards").call(
                "GET", f"/v1/fans/{fan_id}/rewards", context.principal, params=params
            )
            for item in body.get("items", []):
                if str(item.get("id")) in wanted:
                    found[str(item["id"])] = reward_record(item, fan_id=fan_id)
            page_info = body.get("page_info") or {}
            if wanted <= set(found) or not page_info.get("has_next_page"):
                break
            params = {"first": 100, "after": page_info.get("end_cursor")}
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
