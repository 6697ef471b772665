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
from gateway.core.permissions import SIGNED_IN_USER, requires
from gateway.rewards.mutations.redeem_reward import RedeemReward
from gateway.rewards.records import catalog_record
from gateway.rewards.types import CatalogItem, LeaderboardEntry, LeaderboardPeriod

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


class RewardMutations(graphene.ObjectType):
    redeem_reward = RedeemReward.Field(required=True, description=RedeemReward.__doc__)
