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
from gateway.rewards.records import reward_record
from gateway.rewards.types import Reward
from services.common.storable_input import is_record_id


class RedeemRewardInput(graphene.InputObjectType):
    """What to redeem."""

    catalog_item_id = graphene.ID(required=True, description="Global id of the catalog item.")
    idempotency_key = graphene.String(
        description="Any unique string; sending the same one again redeems only once."
    )


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
        data = arguments["input"]
        item_id = raw_id_of(data.catalog_item_id, "CatalogItem")
        if item_id is None:
            raise NotFound("No catalog item has this id.", field="catalogItemId")
        if not is_record_id(item_id):
            raise NotFound("No catalog item has this id.", field="catalogItemId")
        fan_id = context.caller.user_id
        rewards = context.backend("rewards")
        request = {"item_id": int(item_id)}
        if data.idempotency_key:
            request["idempotency_key"] = data.idempotency_key
        redemption = rewards.call(
            "POST", f"/v1/fans/{fan_id}/redemptions", context.principal, json=request
        )
        # The balance after paying, read back: rewards' ledger is the only truth.
        profiles = rewards.call("GET", "/v1/fans", context.principal, params={"ids": fan_id})
        balances = {item.get("fan_id"): item.get("balance") for item in profiles.get("items") or []}
        record = {
            **redemption,
            "kind": "DISCOUNT_CODE" if redemption.get("code") else "GIFT_CARD",
            "status": "ISSUED",
            "points": -int(redemption.get("cost_points") or 0),
        }
        return RedeemRewardPayload(
            reward=reward_record(record, fan_id=fan_id),
            points_balance=balances.get(fan_id),
            errors=[],
        )
