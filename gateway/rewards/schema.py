# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""The rewards fields of Query and Mutation."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from gateway.core.context import context_of
from gateway.core.inputs import to_json
from gateway.core.loaders import then
from gateway.core.pagination import page_params
from gateway.core.permissions import FAN, SIGNED_IN_USER, STAFF, requires
from gateway.rewards import dataloaders as rewards_loaders
from gateway.rewards.mutations.create_code_bank import CreateCodeBank
from gateway.rewards.mutations.create_reward_rule import CreateRewardRule
from gateway.rewards.mutations.fulfil_gift_card_order import FulfilGiftCardOrder
from gateway.rewards.mutations.mark_note_written import MarkNoteWritten
from gateway.rewards.mutations.redeem_reward import RedeemReward
from gateway.rewards.mutations.update_reward_rule import UpdateRewardRule
from gateway.rewards.mutations.upload_codes import UploadCodes
from gateway.rewards.records import catalog_record, queue_filter
from gateway.rewards.types import (
    CatalogItem,
    CodeBank,
    GiftCardOrder,
    HandwrittenNote,
    LeaderboardEntry,
    LeaderboardPeriod,
    QueueStatus,
    Redemption,
    RewardRule,
    TierThreshold,
)

# The contract's periods, as the rewards service names them.
PERIODS = {"WEEK": "week", "MONTH": "month", "ALL_TIME": "all"}


class RewardQueries(graphene.ObjectType):
    leaderboard = graphene.List(
        graphene.NonNull(LeaderboardEntry),
        required=True,
        first=graphene.Int(description="How many fans (at most 100; 20 if omitted)."),
        period=graphene.Argument(LeaderboardPeriod, description="Which points count."),
        description="The top fans by points in a period.",
    )
    reward_catalog = graphene.List(
        graphene.NonNull(CatalogItem),
        required=True,
        description="What fans can redeem points for now.",
    )

    @staticmethod
    @requires(SIGNED_IN_USER)
    def resolve_leaderboard(
        _root: Any, info: GraphQLResolveInfo, first: int | None = None, period: Any = None
    ) -> Any:
        context = context_of(info)
        params = page_params(first, None, context.settings.graphql_max_page_size)
        params["period"] = PERIODS[to_json(period) if period is not None else "ALL_TIME"]
        page = context.loaders.defer(
            lambda: context.backend("rewards").call(
                "GET", "/v1/leaderboard", context.principal, params=params
            ),
            name="Leaderboard",
        )
        return then(page, lambda body: list(body.get("items") or []))

    @staticmethod
    @requires(SIGNED_IN_USER)
    def resolve_reward_catalog(_root: Any, info: GraphQLResolveInfo) -> Any:
        context = context_of(info)
        page = context.loaders.defer(
            lambda: context.backend("rewards").call("GET", "/v1/catalog", context.principal),
            name="RewardCatalog",
        )
        return then(page, lambda body: [catalog_record(i) for i in body.get("items") or []])

    tier_thresholds = graphene.List(
        graphene.NonNull(TierThreshold),
        required=True,
        description="Every tier and the lifetime points that reach it, lowest first.",
    )
    viewer_redemptions = graphene.List(
        graphene.NonNull(Redemption),
        required=True,
        description="Fans only. The viewer's redemptions, newest first, codes included.",
        deprecation_reason="Use `viewer { redemptions }`, the same list on the viewer.",
    )
    reward_rules = graphene.List(
        graphene.NonNull(RewardRule),
        required=True,
        description="Marketers only. Every reward rule, oldest first.",
    )
    code_banks = graphene.List(
        graphene.NonNull(CodeBank),
        required=True,
        description="Marketers only. Every code bank with its stock.",
    )
    gift_card_orders = graphene.List(
        graphene.NonNull(GiftCardOrder),
        required=True,
        status=graphene.Argument(QueueStatus, description="Which ones (PENDING if omitted)."),
        description="Marketers only. The manual gift-card queue.",
    )
    handwritten_notes = graphene.List(
        graphene.NonNull(HandwrittenNote),
        required=True,
        status=graphene.Argument(QueueStatus, description="Which ones (PENDING if omitted)."),
        description="Marketers only. Thank-you notes to write by hand.",
    )

    @staticmethod
    @requires(SIGNED_IN_USER)
    def resolve_tier_thresholds(_root: Any, info: GraphQLResolveInfo) -> Any:
        return _rewards_list(info, "/v1/tiers", name="TierThresholds")

    @staticmethod
    @requires(FAN)
    def resolve_viewer_redemptions(_root: Any, info: GraphQLResolveInfo) -> Any:
        context = context_of(info)
        return rewards_loaders.viewer_redemptions(context, fan_id=str(context.caller.user_id))

    @staticmethod
    @requires(STAFF)
    def resolve_reward_rules(_root: Any, info: GraphQLResolveInfo) -> Any:
        return _rewards_list(info, "/v1/rules", name="RewardRules")

    @staticmethod
    @requires(STAFF)
    def resolve_code_banks(_root: Any, info: GraphQLResolveInfo) -> Any:
        return _rewards_list(info, "/v1/code-banks", name="CodeBanks")

    @staticmethod
    @requires(STAFF)
    def resolve_gift_card_orders(_root: Any, info: GraphQLResolveInfo, status: Any = None) -> Any:
        params = queue_filter(status, done="FULFILLED")
        return _rewards_list(info, "/v1/gift-card-orders", name="GiftCardOrders", params=params)

    @staticmethod
    @requires(STAFF)
    def resolve_handwritten_notes(_root: Any, info: GraphQLResolveInfo, status: Any = None) -> Any:
        params = queue_filter(status, done="WRITTEN")
        return _rewards_list(info, "/v1/handwritten-notes", name="HandwrittenNotes", params=params)


def _rewards_list(
    info: GraphQLResolveInfo, path: str, *, name: str, params: dict[str, str] | None = None
) -> Any:
    """The ``items`` of one rewards list endpoint, fetched once per request."""
    context = context_of(info)
    body = context.loaders.defer(
        lambda: context.backend("rewards").call("GET", path, context.principal, params=params),
        name=name,
    )
    return then(body, lambda page: list(page.get("items") or []))


class RewardMutations(graphene.ObjectType):
    redeem_reward = RedeemReward.Field(required=True, description=RedeemReward.__doc__)
    create_reward_rule = CreateRewardRule.Field(required=True, description=CreateRewardRule.__doc__)
    update_reward_rule = UpdateRewardRule.Field(required=True, description=UpdateRewardRule.__doc__)
    create_code_bank = CreateCodeBank.Field(required=True, description=CreateCodeBank.__doc__)
    upload_codes = UploadCodes.Field(required=True, description=UploadCodes.__doc__)
    fulfil_gift_card_order = FulfilGiftCardOrder.Field(
        required=True, description=FulfilGiftCardOrder.__doc__
    )
    mark_note_written = MarkNoteWritten.Field(required=True, description=MarkNoteWritten.__doc__)
