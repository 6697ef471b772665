# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""fulfilGiftCardOrder: a marketer records the card bought by hand for a fan."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF
from gateway.core.types import UserError
from gateway.rewards.mutations._common import rewards_id
from gateway.rewards.types import GiftCardOrder


class FulfilGiftCardOrderInput(graphene.InputObjectType):
    """The order and the card's code."""

    id = graphene.ID(required=True, description="Global id of the order.")
    card_code = graphene.String(required=True, description="The gift card's code, for the fan.")


class FulfilGiftCardOrderPayload(graphene.ObjectType):
    """The order, fulfilled."""

    order = graphene.Field(GiftCardOrder, description="The order after the change.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class FulfilGiftCardOrder(BaseMutation):
    """Mark a gift-card order fulfilled (marketers); ALREADY_DONE the second time."""

    permissions = (STAFF,)

    class Arguments:
        input = FulfilGiftCardOrderInput(required=True, description="The order and the code.")

    Output = FulfilGiftCardOrderPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> FulfilGiftCardOrderPayload:
        data = arguments["input"]
        order_id = rewards_id(data.id, "GiftCardOrder", field="id")
        order = context.backend("rewards").call(
            "POST",
            f"/v1/gift-card-orders/{order_id}/fulfil",
            context.principal,
            json={"card_code": data.card_code.strip()},
        )
        return FulfilGiftCardOrderPayload(order=order, errors=[])
