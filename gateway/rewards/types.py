# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""Rewards, the catalog and the leaderboard, as GraphQL shows them."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from gateway.account.types import FanTier
from gateway.core.inputs import upper
from gateway.core.permissions import owner, requires
from gateway.core.types import DateTime, Node, PageInfo, node_id_resolver


class RewardKind(graphene.Enum):
    """What a reward is."""

    POINTS = "POINTS"
    BADGE = "BADGE"
    DISCOUNT_CODE = "DISCOUNT_CODE"
    GIFT_CARD = "GIFT_CARD"
    THANK_YOU_NOTE = "THANK_YOU_NOTE"


class RewardStatus(graphene.Enum):
    """Where a reward is on its way to the fan."""

    PENDING = "PENDING"
    ISSUED = "ISSUED"
    DELIVERED = "DELIVERED"
    REVERSED = "REVERSED"
    FAILED = "FAILED"


class LeaderboardPeriod(graphene.Enum):
    """Which points count on the leaderboard."""

    WEEK = "WEEK"
    MONTH = "MONTH"
    ALL_TIME = "ALL_TIME"


def _reward_owner(reward: Any) -> str | None:
    return str(reward.get("fan_id")) if isinstance(reward, dict) and reward.get("fan_id") else None


class Reward(graphene.ObjectType):
    """A thank-you a fan received."""

    class Meta:
        interfaces = (Node,)

    id = graphene.ID(required=True, description="Opaque global id of the reward.")
    kind = graphene.Field(RewardKind, required=True, description="What it is.")
    status = graphene.Field(RewardStatus, required=True, description="Where it is.")
    title = graphene.String(required=True, description="The reward as the fan sees it.")
    points = graphene.Int(description="Points it gave, for points rewards.")
    code = graphene.String(description="Revealed to the fan who owns the reward only.")
    note = graphene.String(description="A personal note that came with it.")
    reason = graphene.String(required=True, description="What the fan did to earn it.")
    issued_at = DateTime(required=True, description="When it was issued.")

    resolve_id = staticmethod(node_id_resolver("Reward"))

    @staticmethod
    def resolve_kind(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("kind"))

    @staticmethod
    def resolve_status(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("status"))

    @staticmethod
    @requires(owner(_reward_owner), otherwise_null=True)
    def resolve_code(root: dict[str, Any], _info: GraphQLResolveInfo) -> str | None:
        return root.get("code")

    @staticmethod
    def resolve_reason(root: dict[str, Any], _info: GraphQLResolveInfo) -> str:
        return str(root.get("reason") or "")


class CatalogItem(graphene.ObjectType):
    """Something fans can redeem points for."""

    class Meta:
        interfaces = (Node,)

    id = graphene.ID(required=True, description="Opaque global id of the item.")
    title = graphene.String(required=True, description="The item as fans see it.")
    kind = graphene.Field(RewardKind, required=True, description="What redeeming gives.")
    cost_points = graphene.Int(required=True, description="Points it costs.")
    remaining = graphene.Int(description="How many are left; null when unlimited.")

    resolve_id = staticmethod(node_id_resolver("CatalogItem"))

    @staticmethod
    def resolve_kind(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("kind"))


class LeaderboardEntry(graphene.ObjectType):
    """One fan's place on the leaderboard."""

    rank = graphene.Int(required=True, description="1 for the top fan.")
    display_name = graphene.String(required=True, description="The fan's display name.")
    points = graphene.Int(required=True, description="Points in the period.")
    tier = graphene.Field(FanTier, required=True, description="The fan's tier.")

    @staticmethod
    def resolve_tier(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("tier") or "FAN")


class RewardEdge(graphene.ObjectType):
    """A reward in a page of rewards."""

    node = graphene.Field(Reward, required=True, description="The reward.")
    cursor = graphene.String(required=True, description="Where this reward sits in the list.")


class RewardConnection(graphene.ObjectType):
    """A page of rewards."""

    edges = graphene.List(
        graphene.NonNull(RewardEdge), required=True, description="The rewards of this page."
    )
    page_info = graphene.Field(PageInfo, required=True, description="Where the page sits.")
    total_count = graphene.Int(required=True, description="Rewards over all pages.")
