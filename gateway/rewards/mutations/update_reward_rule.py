# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""updateRewardRule: a marketer changes a rule, or pauses and resumes it."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF
from gateway.core.types import UserError
from gateway.rewards.mutations._common import RewardRuleFields, rewards_id, rule_request
from gateway.rewards.types import RewardRule


class UpdateRewardRuleInput(RewardRuleFields):
    """The rule and the fields to change; fields left out keep their value."""

    id = graphene.ID(required=True, description="Global id of the rule.")


class UpdateRewardRulePayload(graphene.ObjectType):
    """The rule after the change."""

    rule = graphene.Field(RewardRule, description="The rule, as stored.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class UpdateRewardRule(BaseMutation):
    """Change a reward rule or pause it (`paused: true`) and resume it (marketers)."""

    permissions = (STAFF,)

    class Arguments:
        input = UpdateRewardRuleInput(required=True, description="What to change.")

    Output = UpdateRewardRulePayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> UpdateRewardRulePayload:
        data = arguments["input"]
        rule_id = rewards_id(data.id, "RewardRule", field="id")
        rule = context.backend("rewards").call(
            "PATCH", f"/v1/rules/{rule_id}", context.principal, json=rule_changes(data)
        )
        return UpdateRewardRulePayload(rule=rule, errors=[])


def rule_changes(data: Any) -> dict[str, Any]:
    """The fields the caller sent, as rewards' JSON: an explicit null clears its field.

    BaseMutation has already dropped the fields left out, so a key still in
    ``data`` with None was sent as null. ``rule_request`` leaves nulls out (right
    for a new rule), so they are put back here for rewards to clear, or to refuse
    on their field where a rule cannot lack them (its name, the points it gives).
    """
    cleared = {
        name: None for name in RewardRuleFields._meta.fields if name in data and data[name] is None
    }
    return {**rule_request(data), **cleared}
