"""Loaders over the referrals service: one call per wave, whatever the number of keys."""

from __future__ import annotations

from typing import Any

from gateway.core.context import GraphQLContext
from gateway.core.loaders import BatchLoader


def viewer_links_by_pack(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """The viewer's own link for each pack (``GET /v1/links?fan_id=&pack_ids=``)."""
    fan_id = context.principal.user_id

    def fetch(pack_ids: list[str]) -> dict[str, dict[str, Any]]:
        body = context.backend("referrals").call(
            "GET",
            "/v1/links",
            context.principal,
            params={"fan_id": fan_id, "pack_ids": ",".join(pack_ids), "first": 200},
        )
        links: dict[str, dict[str, Any]] = {}
        for item in body.get("items", []):
            # The newest link per pack wins when a fan made one per channel.
            links.setdefault(str(item["pack_id"]), item)
        return links

    return context.loaders.loader(("referrals", "viewer_link"), fetch, name="ViewerLinkByPackId")


def links_by_id(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    def fetch(link_ids: list[str]) -> dict[str, dict[str, Any]]:
        body = context.backend("referrals").call(
            "GET", "/v1/links", context.principal, params={"ids": ",".join(link_ids)}
        )
        return {str(item["id"]): item for item in body.get("items", [])}

    return context.loaders.loader(("referrals", "link"), fetch, name="ReferralLinkById")


def link_stats(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """Clicks, unique visitors, previews and conversions per link (``/v1/links/stats``)."""

    def fetch(link_ids: list[str]) -> dict[str, dict[str, Any]]:
        body = context.backend("referrals").call(
            "GET", "/v1/links/stats", context.principal, params={"ids": ",".join(link_ids)}
        )
        return {str(item["link_id"]): item for item in body.get("items", [])}

    return context.loaders.loader(("referrals", "link_stats"), fetch, name="LinkStatsByLinkId")


def pack_stats(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """Shares, clicks, previews and conversions per pack (``/v1/packs/stats``)."""

    def fetch(pack_ids: list[str]) -> dict[str, dict[str, Any]]:
        body = context.backend("referrals").call(
            "GET", "/v1/packs/stats", context.principal, params={"ids": ",".join(pack_ids)}
        )
        return {str(item["pack_id"]): item for item in body.get("items", [])}

    return context.loaders.loader(("referrals", "pack_stats"), fetch, name="PackStatsByPackId")


def fan_stats(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """A fan's shares, human clicks and conversions (``/v1/fans/stats``)."""

    def fetch(fan_ids: list[str]) -> dict[str, dict[str, Any]]:
        body = context.backend("referrals").call(
            "GET", "/v1/fans/stats", context.principal, params={"ids": ",".join(fan_ids)}
        )
        return {str(item["fan_id"]): item for item in body.get("items", [])}

    return context.loaders.loader(("referrals", "fan_stats"), fetch, name="FanStatsByFanId")
