# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""redeemReward: a fan spends points on a catalog item."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.core.context import GraphQLContext
from gateway.core.ids import raw_id_of
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import FAN
from gateway.core.types import UserError
from gateway.identity.errors import NotFound
from gateway.rewards.types import Reward


class RedeemRewardInput(graphene.InputObjectType):
    """What to redeem."""

    catalog_item_id = graphene.ID(required=True, description="Global id of the catalog item.")


class RedeemRewardPayload(graphene.ObjectType):
    """The reward, and the balance after paying for it."""

    reward = graphene.Field(Reward, description="The reward redeemed.")
    points_balance = graphene.Int(description="Points left.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class RedeemReward(BaseMutation):
    """Spend points on a catalog item (fans); OUT_OF_STOCK or INSUFFICIENT_POINTS otherwise."""

    permissions = (FAN,)

    class Arguments:
        input = RedeemRewardInput(required=True, description="What to redeem.")

    Output = RedeemRewardPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> RedeemRewardPayload:
        item_id = raw_id_of(arguments["input"].catalog_item_id, "CatalogItem")
        if item_id is None:
            raise NotFound("No catalog item has this id.", field="catalogItemId")
        body = context.backend("rewards").call(
            "POST",
            "/v1/redemptions",
            context.principal,
            json={"fan_id": context.caller.user_id, "catalog_item_id": item_id},
        )
        reward = body.get("reward") or {}
        return RedeemRewardPayload(
            reward={**reward, "__typename": "Reward"},
            points_balance=body.get("points_balance"),
            errors=[],
        )
