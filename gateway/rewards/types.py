# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""Rewards, the catalog and the leaderboard, as GraphQL shows them."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from gateway.account.types import FanTier
from gateway.core.ids import global_id
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


# What marketers run: rules, code banks, and the manual queues.


class RewardTrigger(graphene.Enum):
    """The deed a reward rule answers."""

    SHARE_RECORDED = "SHARE_RECORDED"
    HUMAN_CLICKS_REACHED = "HUMAN_CLICKS_REACHED"
    CONVERSION_APPROVED = "CONVERSION_APPROVED"
    TIER_REACHED = "TIER_REACHED"

    @property
    def description(self) -> str:
        return {
            "SHARE_RECORDED": "A fan recorded a share.",
            "HUMAN_CLICKS_REACHED": "A fan's link reached `triggerClicks` human clicks.",
            "CONVERSION_APPROVED": "A partner's conversion through a fan's link was approved.",
            "TIER_REACHED": "A fan moved up to `triggerTier`.",
        }[self.name]


class QueueStatus(graphene.Enum):
    """Where an item of a manual queue is."""

    PENDING = "PENDING"
    DONE = "DONE"
    CANCELLED = "CANCELLED"

    @property
    def description(self) -> str:
        return {
            "PENDING": "Waiting for a marketer.",
            "DONE": "Fulfilled (gift cards) or written (notes).",
            "CANCELLED": "Called off, e.g. by a reversed conversion.",
        }[self.name]


class RewardRule(graphene.ObjectType):
    """When fans earn what: a trigger, optional filters, a reward, caps and a budget."""

    id = graphene.ID(required=True, description="Opaque global id of the rule.")
    key = graphene.String(description="Stable name for seeded rules, if any.")
    name = graphene.String(required=True, description="The rule as fans see the reward.")
    trigger = graphene.Field(RewardTrigger, required=True, description="The deed it answers.")
    trigger_clicks = graphene.Int(description="For HUMAN_CLICKS_REACHED: how many clicks.")
    trigger_tier = graphene.Field(FanTier, description="For TIER_REACHED: which tier.")
    pack_id = graphene.ID(description="Only deeds on this pack (global ContentPack id).")
    tag = graphene.String(description="Only deeds on packs with this tag.")
    reward_kind = graphene.Field(RewardKind, required=True, description="What it gives.")
    points = graphene.Int(description="Points given (POINTS).")
    badge_code = graphene.String(description="Badge given (BADGE).")
    code_bank_id = graphene.ID(description="Bank the code comes from (DISCOUNT_CODE).")
    gift_card_amount_cents = graphene.Int(description="Card value in cents (GIFT_CARD).")
    gift_card_currency = graphene.String(description="ISO 4217 currency (GIFT_CARD).")
    note_template = graphene.String(description="The note's text (THANK_YOU_NOTE).")
    cap_per_day = graphene.Int(description="At most this many per fan per UTC day.")
    cap_per_week = graphene.Int(description="At most this many per fan per ISO week.")
    cap_total = graphene.Int(description="At most this many per fan, ever.")
    budget = graphene.Int(
        description="Total the rule may give: points, cents for gift cards, or rewards."
    )
    budget_spent = graphene.Int(required=True, description="How much of the budget is used.")
    issued_count = graphene.Int(required=True, description="Rewards the rule has given.")
    paused = graphene.Boolean(required=True, description="A paused rule gives nothing.")

    resolve_id = staticmethod(node_id_resolver("RewardRule"))

    @staticmethod
    def resolve_pack_id(root: dict[str, Any], _info: GraphQLResolveInfo) -> str | None:
        pack_id = root.get("pack_id")
        return global_id("ContentPack", str(pack_id)) if pack_id else None

    @staticmethod
    def resolve_code_bank_id(root: dict[str, Any], _info: GraphQLResolveInfo) -> str | None:
        bank_id = root.get("code_bank_id")
        return global_id("CodeBank", str(bank_id)) if bank_id is not None else None

    @staticmethod
    def resolve_budget_spent(root: dict[str, Any], _info: GraphQLResolveInfo) -> int:
        return int(root.get("budget_spent") or 0)

    @staticmethod
    def resolve_issued_count(root: dict[str, Any], _info: GraphQLResolveInfo) -> int:
        return int(root.get("issued_count") or 0)


class CodeBank(graphene.ObjectType):
    """Discount codes marketers upload; each is handed out once."""

    id = graphene.ID(required=True, description="Opaque global id of the bank.")
    name = graphene.String(required=True, description="What the codes are for.")
    low_stock_threshold = graphene.Int(
        required=True, description="Marketers are told when fewer codes than this are left."
    )
    remaining = graphene.Int(required=True, description="Codes not handed out yet.")
    handed_out = graphene.Int(required=True, description="Codes fans have received.")

    resolve_id = staticmethod(node_id_resolver("CodeBank"))


class RejectedCodeRow(graphene.ObjectType):
    """A CSV row that is not imported, and why."""

    line = graphene.Int(required=True, description="Line number in the file, from 1.")
    code = graphene.String(required=True, description="The row's first cell, as read.")
    error = graphene.String(required=True, description="What is wrong and how to fix it.")


class CodeUploadReport(graphene.ObjectType):
    """What a CSV upload imported (or, for a dry run, would import)."""

    accepted = graphene.Int(required=True, description="Codes imported (or that would be).")
    rejected = graphene.List(
        graphene.NonNull(RejectedCodeRow), required=True, description="Rows left out."
    )
    waiting_rewards_served = graphene.Int(
        required=True, description="Rewards that waited for stock and got a code now."
    )
    dry_run = graphene.Boolean(required=True, description="True when nothing was written.")


class GiftCardOrder(graphene.ObjectType):
    """A gift card to buy by hand and send to a fan (the manual queue)."""

    id = graphene.ID(required=True, description="Opaque global id of the order.")
    amount_cents = graphene.Int(required=True, description="Card value in cents.")
    currency = graphene.String(required=True, description="ISO 4217 currency.")
    provider = graphene.String(required=True, description="The provider it goes through.")
    status = graphene.Field(QueueStatus, required=True, description="Where it is.")
    reason = graphene.String(
        required=True, description="Why it is owed: a reward rule or a redemption."
    )
    created_at = DateTime(required=True, description="When it was ordered.")
    fulfilled_at = DateTime(description="When the card was sent.")

    resolve_id = staticmethod(node_id_resolver("GiftCardOrder"))

    @staticmethod
    def resolve_status(root: dict[str, Any], _info: GraphQLResolveInfo) -> str:
        return queue_status(root.get("status"))

    @staticmethod
    def resolve_reason(root: dict[str, Any], _info: GraphQLResolveInfo) -> str:
        if root.get("redemption_id") is not None:
            return "Redeemed from the catalog"
        return "Earned by a reward rule"


class HandwrittenNote(graphene.ObjectType):
    """A thank-you a marketer writes by hand (the fan chose a handwritten note)."""

    id = graphene.ID(required=True, description="Opaque global id of the note.")
    display_name = graphene.String(description="Who it is for; null once the fan is erased.")
    message = graphene.String(required=True, description="What to write.")
    status = graphene.Field(QueueStatus, required=True, description="Where it is.")
    created_at = DateTime(required=True, description="When it was asked for.")
    written_at = DateTime(description="When it was written.")

    resolve_id = staticmethod(node_id_resolver("HandwrittenNote"))

    @staticmethod
    def resolve_status(root: dict[str, Any], _info: GraphQLResolveInfo) -> str:
        return queue_status(root.get("status"))


# Rewards' own statuses, as the console's one vocabulary for both queues.
QUEUE_STATUSES = {"PENDING": "PENDING", "FULFILLED": "DONE", "WRITTEN": "DONE"}


def queue_status(value: Any) -> str:
    return QUEUE_STATUSES.get(str(value or "").upper(), "CANCELLED")


class TierThreshold(graphene.ObjectType):
    """A tier and the lifetime points that reach it."""

    tier = graphene.Field(FanTier, required=True, description="The tier.")
    lifetime_points = graphene.Int(required=True, description="Lifetime points it needs.")


class Redemption(graphene.ObjectType):
    """Points a fan spent on a catalog item."""

    id = graphene.ID(required=True, description="Opaque global id of the redemption.")
    item_name = graphene.String(required=True, description="What was redeemed.")
    cost_points = graphene.Int(required=True, description="Points it cost.")
    code = graphene.String(description="The discount code it gave, shown to its owner only.")
    gift_card_status = graphene.String(description="For gift cards: PENDING or FULFILLED.")
    gift_card_code = graphene.String(description="The gift card's code once sent (owner only).")
    created_at = DateTime(required=True, description="When it was redeemed.")

    resolve_id = staticmethod(node_id_resolver("Redemption"))
