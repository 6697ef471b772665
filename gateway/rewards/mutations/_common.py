# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""What the rewards mutations share: ids in the rewards service's terms, and rule inputs."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.account.types import FanTier
from gateway.core.ids import raw_id_of
from gateway.core.inputs import to_json
from gateway.identity.errors import NotFound
from gateway.rewards.types import RewardKind, RewardTrigger
from services.common.storable_input import is_record_id


def rewards_id(value: Any, type_name: str, *, field: str) -> int:
    """The rewards service's numeric id inside a global id, or NOT_FOUND on ``field``."""
    raw = raw_id_of(str(value or ""), type_name)
    if raw is None or not is_record_id(raw):
        raise NotFound(f"No {type_name} has this id.", field=field)
    return int(raw)


class RewardRuleFields(graphene.InputObjectType):
    """The parts of a rule a marketer sets; which are needed depends on trigger and kind."""

    name = graphene.String(description="The rule as fans see the reward.")
    trigger = graphene.Field(RewardTrigger, description="The deed it answers.")
    trigger_clicks = graphene.Int(description="For HUMAN_CLICKS_REACHED: how many clicks.")
    trigger_tier = graphene.Field(FanTier, description="For TIER_REACHED: which tier.")
    pack_id = graphene.ID(description="Only deeds on this pack (global ContentPack id).")
    tag = graphene.String(description="Only deeds on packs with this tag.")
    reward_kind = graphene.Field(RewardKind, description="What it gives.")
    points = graphene.Int(description="Points given (POINTS).")
    badge_code = graphene.String(description="Badge given (BADGE).")
    code_bank_id = graphene.ID(description="Bank the codes come from (DISCOUNT_CODE).")
    gift_card_amount_cents = graphene.Int(description="Card value in cents (GIFT_CARD).")
    gift_card_currency = graphene.String(description="ISO 4217 currency, e.g. EUR (GIFT_CARD).")
    note_template = graphene.String(description="The note's text (THANK_YOU_NOTE).")
    cap_per_day = graphene.Int(description="At most this many per fan per UTC day.")
    cap_per_week = graphene.Int(description="At most this many per fan per ISO week.")
    cap_total = graphene.Int(description="At most this many per fan, ever.")
    budget = graphene.Int(
        description="Total the rule may give: points, cents for gift cards, or rewards."
    )
    paused = graphene.Boolean(description="A paused rule gives nothing until resumed.")


def rule_request(data: Any) -> dict[str, Any]:
    """A rule input as the rewards service's JSON (fields not given are left out)."""
    request: dict[str, Any] = to_json(
        {name: data.get(name) for name in RewardRuleFields._meta.fields}
    )
    if "pack_id" in request:
        pack_id = raw_id_of(str(request["pack_id"]), "ContentPack")
        if pack_id is None:
            raise NotFound("No pack has this id.", field="packId")
        request["pack_id"] = pack_id
    if "code_bank_id" in request:
        bank_id = request["code_bank_id"]
        request["code_bank_id"] = rewards_id(bank_id, "CodeBank", field="codeBankId")
    return request
