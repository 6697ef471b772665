# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""createRewardRule: a marketer adds a rule (trigger, filters, reward, caps, budget)."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF
from gateway.core.types import UserError
from gateway.rewards.mutations._common import RewardRuleFields, rule_request
from gateway.rewards.types import RewardKind, RewardRule, RewardTrigger


class CreateRewardRuleInput(RewardRuleFields):
    """A new rule; it is live at once unless `paused`."""

    name = graphene.String(required=True, description="The rule as fans see the reward.")
    trigger = graphene.Field(RewardTrigger, required=True, description="The deed it answers.")
    reward_kind = graphene.Field(RewardKind, required=True, description="What it gives.")


class CreateRewardRulePayload(graphene.ObjectType):
    """The new rule."""

    rule = graphene.Field(RewardRule, description="The rule, as stored.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class CreateRewardRule(BaseMutation):
    """Add a reward rule (marketers); INVALID names each field a trigger or kind needs."""

    permissions = (STAFF,)

    class Arguments:
        input = CreateRewardRuleInput(required=True, description="The new rule.")

    Output = CreateRewardRulePayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> CreateRewardRulePayload:
        request = rule_request(arguments["input"])
        rule = context.backend("rewards").call("POST", "/v1/rules", context.principal, json=request)
        return CreateRewardRulePayload(rule=rule, errors=[])
