"""Loaders over the referrals service: one call per wave, whatever the number of keys."""

from __future__ import annotations

from typing import Any

from gateway.core.context import GraphQLContext
from gateway.core.loaders import BatchLoader


def viewer_links_by_pack(
    context: GraphQLContext, *, with_stats: bool = False
) -> BatchLoader[str, dict[str, Any]]:
    """The viewer's own link for each pack (``GET /v1/fans/<fan>/links?pack_ids=``).

    ``with_stats`` embeds each link's numbers in the same call (``include=stats``),
    so a page of packs with the viewer's links and their stats costs one call.
    """
    fan_id = context.principal.user_id
    key = ("referrals", "viewer_link")
    extras = context.loaders.extras(key)
    if with_stats:
        extras.add("stats")

    def fetch(pack_ids: list[str]) -> dict[str, dict[str, Any]]:
        params = {"pack_ids": ",".join(pack_ids)}
        if extras:
            params["include"] = ",".join(sorted(extras))
        body = context.backend("referrals").call(
            "GET", f"/v1/fans/{fan_id}/links", context.principal, params=params
        )
        links: dict[str, dict[str, Any]] = {}
        for item in body.get("items", []):
            # A fan may have a link per channel; the first (newest) stands for the pack.
            links.setdefault(str(item["pack_id"]), item)
        return links

    return context.loaders.loader(key, fetch, name="ViewerLinkByPackId")


def ask_viewer_links(context: GraphQLContext, pack_ids: list[str], *, with_stats: bool) -> None:
    """Queue the viewer's links for these packs before their ``viewerLink`` fields ask
    (the fields then find them queued or on their way): a page's head start."""
    if not pack_ids:
        return
    loader = viewer_links_by_pack(context, with_stats=with_stats)
    for pack_id in pack_ids:
        loader.load(pack_id)


def _by_ids(
    context: GraphQLContext, path: str, key: str, name: str
) -> BatchLoader[str, dict[str, Any]]:
    def fetch(ids: list[str]) -> dict[str, dict[str, Any]]:
        body = context.backend("referrals").call(
            "GET", path, context.principal, params={"ids": ",".join(ids)}
        )
        return {str(item[key]): item for item in body.get("items", [])}

    return context.loaders.loader(("referrals", path), fetch, name=name)


def links_by_id(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """Links by id (``GET /v1/links?ids=``); a fan gets only their own."""
    return _by_ids(context, "/v1/links", "id", "ReferralLinkById")


def link_stats(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """Clicks, visitors, previews and conversions per link (``/v1/stats/links?ids=``)."""
    return _by_ids(context, "/v1/stats/links", "id", "LinkStatsByLinkId")


def pack_stats(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """Shares, clicks, previews and conversions per pack (``/v1/stats/packs?ids=``)."""
    return _by_ids(context, "/v1/stats/packs", "id", "PackStatsByPackId")


def fan_stats(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """A fan's shares, clicks and conversions (``/v1/stats/fans?ids=``)."""
    return _by_ids(context, "/v1/stats/fans", "id", "FanStatsByFanId")


def conversions_by_id(context: GraphQLContext) -> BatchLoader[str, dict[str, Any]]:
    """Conversions by id (``GET /v1/conversions?ids=``): staff see all, a partner its own."""
    return _by_ids(context, "/v1/conversions", "id", "ConversionById")
