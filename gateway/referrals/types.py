# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""Referral links, their stats and conversions, as GraphQL shows them."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from gateway.content import dataloaders as content_loaders
from gateway.content.types import ContentPack, ShareChannel
from gateway.core.context import context_of
from gateway.core.inputs import upper
from gateway.core.loaders import then
from gateway.core.permissions import STAFF, STATS_READ, owner, requires
from gateway.core.types import DateTime, Node, PageInfo, node_id_resolver
from gateway.referrals import dataloaders as referrals_loaders


class ConversionStatus(graphene.Enum):
    """Where a conversion stands."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    REVERSED = "REVERSED"


class LinkStats(graphene.ObjectType):
    """How a link is doing."""

    human_clicks = graphene.Int(required=True, description="Clicks by people.")
    unique_visitors = graphene.Int(required=True, description="Distinct people who clicked.")
    preview_fetches = graphene.Int(
        required=True, description="Link-preview crawlers and other bots; never rewarded."
    )
    conversions = graphene.Int(required=True, description="Approved conversions it brought.")


def _link_owner(link: Any) -> str | None:
    return str(link.get("fan_id")) if isinstance(link, dict) and link.get("fan_id") else None


class ReferralLink(graphene.ObjectType):
    """A fan's tracked short link to a pack's destination."""

    class Meta:
        interfaces = (Node,)

    id = graphene.ID(required=True, description="Opaque global id of the link.")
    code = graphene.String(required=True, description="The short code, e.g. Ab3dE9x.")
    short_url = graphene.String(
        required=True, description="Public short URL, e.g. https://fan.example/r/Ab3dE9x."
    )
    destination_url = graphene.String(
        required=True, description="Destination with UTM parameters added."
    )
    channel = graphene.Field(ShareChannel, required=True, description="Where it is shared.")
    pack = graphene.Field(ContentPack, description="The pack it shares.")
    qr_code_url = graphene.String(required=True, description="A QR code of the short URL.")
    created_at = DateTime(required=True, description="When the fan made it.")
    stats = graphene.Field(
        LinkStats,
        required=True,
        description="Its clicks and conversions (the link's fan, marketers, STATS_READ keys).",
    )

    resolve_id = staticmethod(node_id_resolver("ReferralLink"))

    @staticmethod
    def resolve_channel(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("channel"))

    @staticmethod
    def resolve_pack(root: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        return content_loaders.packs_by_id(context_of(info)).load(str(root["pack_id"]))

    @staticmethod
    @requires(owner(_link_owner), STAFF, STATS_READ)
    def resolve_stats(root: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        embedded = root.get("stats")
        if isinstance(embedded, dict):
            return embedded
        return then(
            referrals_loaders.link_stats(context_of(info)).load(str(root["id"])),
            lambda stats: stats or {},
        )


class Conversion(graphene.ObjectType):
    """A sale or sign-up a partner attributed to a referral link."""

    class Meta:
        interfaces = (Node,)

    id = graphene.ID(required=True, description="Opaque global id of the conversion.")
    external_id = graphene.String(required=True, description="The partner's own id for it.")
    status = graphene.Field(ConversionStatus, required=True, description="Where it stands.")
    amount_cents = graphene.Int(description="Its amount in cents, if any.")
    currency = graphene.String(description="ISO 4217 currency of the amount.")
    occurred_at = DateTime(required=True, description="When it happened.")

    resolve_id = staticmethod(node_id_resolver("Conversion"))

    @staticmethod
    def resolve_status(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("status"))


class ReferralLinkEdge(graphene.ObjectType):
    """A link in a page of links."""

    node = graphene.Field(ReferralLink, required=True, description="The link.")
    cursor = graphene.String(required=True, description="Where this link sits in the list.")


class ReferralLinkConnection(graphene.ObjectType):
    """A page of links."""

    edges = graphene.List(
        graphene.NonNull(ReferralLinkEdge), required=True, description="The links of this page."
    )
    page_info = graphene.Field(PageInfo, required=True, description="Where the page sits.")
    total_count = graphene.Int(required=True, description="Links over all pages.")
