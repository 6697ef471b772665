"""Marshmallow schemas for every request and response (and so for openapi.json)."""

from __future__ import annotations

from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.storable_input import MAX_ID
from services.rewards.catalog import ITEM_KINDS
from services.rewards.deeds import TRIGGERS
from services.rewards.deliveries import CHANNELS
from services.rewards.leaderboard import PERIODS
from services.rewards.rules import REWARD_KINDS
from services.rewards.settings import TIER_ORDER

MAX_PAGE = 100
# The largest value of an INTEGER column (counts, caps, stock); ids are BIGINT (MAX_ID).
MAX_INT32 = 2**31 - 1


class RequiredFieldsSchema(Schema):
    """A write schema whose ``REQUIRED`` fields must be present (empty for partial updates)."""

    REQUIRED: ClassVar[tuple[str, ...]] = ()

    @validates_schema
    def _required_present(self, data: dict[str, Any], **_: Any) -> None:
        missing = {name: ["Missing data for required field."] for name in self.REQUIRED}
        for name in data:
            missing.pop(name, None)
        if missing:
            raise ValidationError(missing)


class ErrorBodySchema(Schema):
    code = fields.Str(required=True)
    message = fields.Str(required=True)
    details = fields.Dict()


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PageInfoSchema(Schema):
    has_next_page = fields.Bool(required=True)
    end_cursor = fields.Str(allow_none=True)


class PageQuerySchema(Schema):
    first = fields.Int(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE))
    after = fields.Str(load_default=None)


class FanRewardsQuerySchema(PageQuerySchema):
    ids = fields.Str(
        load_default=None,
        metadata={
            "description": (
                "Only these of the fan's rewards (comma-separated ids, at most 100), "
                "newest first; `first` and `after` are then ignored."
            )
        },
    )


# Fans


class FanProfilePutSchema(Schema):
    email = fields.Email(load_default=None, allow_none=True)
    display_name = fields.Str(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=100)
    )
    thank_you_channel = fields.Str(load_default="PRIVATE_EMAIL", validate=validate.OneOf(CHANNELS))
    show_on_leaderboard = fields.Bool(load_default=True)


class FanProfilePatchSchema(Schema):
    email = fields.Email(allow_none=True)
    display_name = fields.Str(allow_none=True, validate=validate.Length(min=1, max=100))
    thank_you_channel = fields.Str(validate=validate.OneOf(CHANNELS))
    show_on_leaderboard = fields.Bool()


class FanProfileSchema(Schema):
    fan_id = fields.Str()
    email = fields.Str(allow_none=True)
    display_name = fields.Str(allow_none=True)
    thank_you_channel = fields.Str()
    show_on_leaderboard = fields.Bool()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class BadgeSchema(Schema):
    code = fields.Str()
    awarded_at = fields.DateTime()


class FanSummarySchema(Schema):
    fan_id = fields.Str()
    balance = fields.Int()
    lifetime_points = fields.Int()
    tier = fields.Str(metadata={"enum": list(TIER_ORDER)})
    badges = fields.List(fields.Nested(BadgeSchema))


class FanSummaryListSchema(Schema):
    items = fields.List(fields.Nested(FanSummarySchema))


class IdsQuerySchema(Schema):
    ids = fields.Str(required=True, metadata={"description": "Comma-separated, at most 200."})


class PackRewardStatsSchema(Schema):
    pack_id = fields.Str()
    rewards_issued = fields.Int(
        metadata={"description": "Rewards given for deeds on the pack, reversed ones left out."}
    )
    points_issued = fields.Int(metadata={"description": "Points those rewards gave."})


class PackRewardStatsListSchema(Schema):
    items = fields.List(fields.Nested(PackRewardStatsSchema))


class RewardSchema(Schema):
    id = fields.Int()
    rule_id = fields.Int()
    rule_name = fields.Str()
    kind = fields.Str(metadata={"enum": list(REWARD_KINDS)})
    status = fields.Str(metadata={"enum": ["ISSUED", "AWAITING_STOCK", "REVERSED"]})
    points = fields.Int()
    badge_code = fields.Str(allow_none=True)
    code = fields.Str(allow_none=True, metadata={"description": "Only shown to its owner."})
    amount_cents = fields.Int(allow_none=True)
    currency = fields.Str(allow_none=True)
    gift_card_status = fields.Str(allow_none=True)
    gift_card_code = fields.Str(allow_none=True, metadata={"description": "Owner only."})
    note = fields.Str(allow_none=True)
    pack_id = fields.Str(allow_none=True)
    pack_title = fields.Str(allow_none=True)
    event_type = fields.Str()
    occurred_at = fields.DateTime()
    created_at = fields.DateTime()
    reversed_at = fields.DateTime(allow_none=True)


class RewardPageSchema(Schema):
    items = fields.List(fields.Nested(RewardSchema))
    page_info = fields.Nested(PageInfoSchema)
    total_count = fields.Int()


class FanExportSchema(Schema):
    fan_id = fields.Str()
    profile = fields.Dict(allow_none=True)
    summary = fields.Dict()
    rewards = fields.List(fields.Dict())
    redemptions = fields.List(fields.Dict())
    ledger = fields.List(fields.Dict())
    wall_posts = fields.List(fields.Dict())
    handwritten_notes = fields.List(fields.Dict())


# Rules


class RuleCreateSchema(RequiredFieldsSchema):
    REQUIRED: ClassVar[tuple[str, ...]] = ("name", "trigger", "reward_kind")

    key = fields.Str(allow_none=True, validate=validate.Length(min=1, max=80))
    name = fields.Str(validate=validate.Length(min=1, max=120))
    trigger = fields.Str(validate=validate.OneOf(TRIGGERS))
    trigger_clicks = fields.Int(allow_none=True, validate=validate.Range(min=1, max=MAX_INT32))
    trigger_tier = fields.Str(allow_none=True, validate=validate.OneOf(TIER_ORDER[1:]))
    pack_id = fields.Str(allow_none=True, validate=validate.Length(min=1, max=64))
    tag = fields.Str(allow_none=True, validate=validate.Length(min=1, max=60))
    reward_kind = fields.Str(validate=validate.OneOf(REWARD_KINDS))
    points = fields.Int(allow_none=True, validate=validate.Range(min=1, max=1_000_000))
    badge_code = fields.Str(allow_none=True, validate=validate.Length(min=1, max=60))
    code_bank_id = fields.Int(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    gift_card_amount_cents = fields.Int(
        allow_none=True, validate=validate.Range(min=1, max=1_000_000)
    )
    gift_card_currency = fields.Str(
        allow_none=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="Use an ISO 4217 code.")
    )
    note_template = fields.Str(allow_none=True, validate=validate.Length(min=1, max=2000))
    cap_per_day = fields.Int(allow_none=True, validate=validate.Range(min=1, max=MAX_INT32))
    cap_per_week = fields.Int(allow_none=True, validate=validate.Range(min=1, max=MAX_INT32))
    cap_total = fields.Int(allow_none=True, validate=validate.Range(min=1, max=MAX_INT32))
    budget = fields.Int(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    paused = fields.Bool()


class RuleUpdateSchema(RuleCreateSchema):
    REQUIRED: ClassVar[tuple[str, ...]] = ()


class RuleSchema(Schema):
    id = fields.Int()
    key = fields.Str(allow_none=True)
    name = fields.Str()
    trigger = fields.Str()
    trigger_clicks = fields.Int(allow_none=True)
    trigger_tier = fields.Str(allow_none=True)
    pack_id = fields.Str(allow_none=True)
    tag = fields.Str(allow_none=True)
    reward_kind = fields.Str()
    points = fields.Int(allow_none=True)
    badge_code = fields.Str(allow_none=True)
    code_bank_id = fields.Int(allow_none=True)
    gift_card_amount_cents = fields.Int(allow_none=True)
    gift_card_currency = fields.Str(allow_none=True)
    note_template = fields.Str(allow_none=True)
    cap_per_day = fields.Int(allow_none=True)
    cap_per_week = fields.Int(allow_none=True)
    cap_total = fields.Int(allow_none=True)
    budget = fields.Int(allow_none=True)
    budget_spent = fields.Int()
    issued_count = fields.Int()
    paused = fields.Bool()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RuleListSchema(Schema):
    items = fields.List(fields.Nested(RuleSchema))


# Code banks


class CodeBankCreateSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    low_stock_threshold = fields.Int(load_default=10, validate=validate.Range(min=0, max=MAX_INT32))


class CodeBankSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    low_stock_threshold = fields.Int()
    remaining = fields.Int()
    handed_out = fields.Int()
    created_at = fields.DateTime()


class CodeBankListSchema(Schema):
    items = fields.List(fields.Nested(CodeBankSchema))


class RejectedRowSchema(Schema):
    line = fields.Int()
    code = fields.Str()
    error = fields.Str()


class CodeUploadQuerySchema(Schema):
    dry_run = fields.Bool(
        load_default=False,
        metadata={
            "description": "Check every row exactly as an upload does and write nothing "
            "(a preview: `accepted` counts the codes that would go in)."
        },
    )


class CodeUploadReportSchema(Schema):
    accepted = fields.Int()
    rejected = fields.List(fields.Nested(RejectedRowSchema))
    waiting_rewards_served = fields.Int()
    dry_run = fields.Bool(metadata={"description": "True when nothing was written."})


# Catalog and redemptions


class CatalogItemCreateSchema(RequiredFieldsSchema):
    REQUIRED: ClassVar[tuple[str, ...]] = ("name", "kind", "cost_points")

    name = fields.Str(validate=validate.Length(min=1, max=120))
    description = fields.Str(validate=validate.Length(max=2000))
    kind = fields.Str(validate=validate.OneOf(ITEM_KINDS))
    cost_points = fields.Int(validate=validate.Range(min=1, max=10_000_000))
    stock = fields.Int(allow_none=True, validate=validate.Range(min=0, max=MAX_INT32))
    code_bank_id = fields.Int(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    gift_card_amount_cents = fields.Int(
        allow_none=True, validate=validate.Range(min=1, max=1_000_000)
    )
    gift_card_currency = fields.Str(
        allow_none=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="Use an ISO 4217 code.")
    )
    active = fields.Bool()


class CatalogItemUpdateSchema(CatalogItemCreateSchema):
    REQUIRED: ClassVar[tuple[str, ...]] = ()


class CatalogItemSchema(Schema):
    id = fields.Int()
    name = fields.Str()
    description = fields.Str()
    kind = fields.Str()
    cost_points = fields.Int()
    stock = fields.Int(allow_none=True)
    code_bank_id = fields.Int(allow_none=True)
    gift_card_amount_cents = fields.Int(allow_none=True)
    gift_card_currency = fields.Str(allow_none=True)
    active = fields.Bool()


class CatalogItemListSchema(Schema):
    items = fields.List(fields.Nested(CatalogItemSchema))


class CatalogQuerySchema(Schema):
    include_inactive = fields.Bool(load_default=False)


class RedeemSchema(Schema):
    item_id = fields.Int(required=True, validate=validate.Range(min=1, max=MAX_ID))
    idempotency_key = fields.Str(
        load_default=None, validate=validate.Length(min=1, max=80), allow_none=True
    )


class RedemptionSchema(Schema):
    id = fields.Int()
    item_id = fields.Int()
    item_name = fields.Str()
    cost_points = fields.Int()
    idempotency_key = fields.Str()
    code = fields.Str(allow_none=True)
    gift_card_status = fields.Str(allow_none=True)
    gift_card_code = fields.Str(allow_none=True)
    created_at = fields.DateTime()


class RedemptionListSchema(Schema):
    items = fields.List(fields.Nested(RedemptionSchema))


# Marketer queues


class TierThresholdSchema(Schema):
    tier = fields.Str(metadata={"enum": list(TIER_ORDER)})
    lifetime_points = fields.Int(metadata={"description": "Lifetime points that reach it."})


class TierThresholdListSchema(Schema):
    items = fields.List(fields.Nested(TierThresholdSchema))


class StatusQuerySchema(Schema):
    status = fields.Str(load_default="PENDING", allow_none=True)


class GiftCardOrderSchema(Schema):
    id = fields.Int()
    idempotency_key = fields.Str()
    reward_id = fields.Int(allow_none=True)
    redemption_id = fields.Int(allow_none=True)
    fan_id = fields.Str(allow_none=True)
    amount_cents = fields.Int()
    currency = fields.Str()
    provider = fields.Str()
    status = fields.Str()
    card_code = fields.Str(allow_none=True)
    fulfilled_by = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    fulfilled_at = fields.DateTime(allow_none=True)


class GiftCardOrderListSchema(Schema):
    items = fields.List(fields.Nested(GiftCardOrderSchema))


class GiftCardFulfilSchema(Schema):
    card_code = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class HandwrittenNoteSchema(Schema):
    id = fields.Int()
    reward_id = fields.Int()
    fan_id = fields.Str(allow_none=True)
    display_name = fields.Str(allow_none=True)
    message = fields.Str()
    status = fields.Str()
    written_by = fields.Str(allow_none=True)
    created_at = fields.DateTime()
    written_at = fields.DateTime(allow_none=True)


class HandwrittenNoteListSchema(Schema):
    items = fields.List(fields.Nested(HandwrittenNoteSchema))


# Public


class LeaderboardQuerySchema(Schema):
    period = fields.Str(load_default="week", validate=validate.OneOf(list(PERIODS)))
    first = fields.Int(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE))


class LeaderboardEntrySchema(Schema):
    rank = fields.Int()
    display_name = fields.Str()
    points = fields.Int()


class LeaderboardSchema(Schema):
    period = fields.Str()
    items = fields.List(fields.Nested(LeaderboardEntrySchema))


class WallPostSchema(Schema):
    id = fields.Int()
    message = fields.Str()
    created_at = fields.DateTime()


class WallPageSchema(Schema):
    items = fields.List(fields.Nested(WallPostSchema))
    page_info = fields.Nested(PageInfoSchema)


# Ledger


class ReconciliationSchema(Schema):
    ok = fields.Bool()
    entries = fields.Int()
    total = fields.Int()
    unbalanced_journals = fields.List(fields.Dict())
    mismatched_accounts = fields.List(fields.Dict())
