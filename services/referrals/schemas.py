"""Marshmallow schemas: what the REST API takes and gives, and its OpenAPI document."""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.referrals.codes import CLICK_ID_PATTERN, CODE_PATTERN


class UtcAwareDateTime(fields.AwareDateTime):
    """An aware datetime, loaded as the same instant in UTC.

    In UTC because that is how it is stored (services.common.utc_time) and how the
    domain counts days; an instant outside years 1-9999 in UTC fits no database, and is
    refused here with a 422 naming the field rather than failing at the database.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError("Send a time between years 1 and 9999 in UTC.") from exc


# The contract's ShareChannel enum.
SHARE_CHANNELS = (
    "X",
    "FACEBOOK",
    "LINKEDIN",
    "INSTAGRAM",
    "WHATSAPP",
    "EMAIL",
    "SMS",
    "QR",
    "COPY",
    "OTHER",
)
MAX_BATCH_IDS = 200
SHA256_HEX = r"^[0-9a-f]{64}$"


class CommaSeparated(fields.Field):  # type: ignore[type-arg]
    """``?ids=a,b,c`` as a list of non-empty strings (at most 200)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, str):
            raise ValidationError("Pass a comma-separated list.")
        items = [item.strip() for item in value.split(",") if item.strip()]
        if not items:
            raise ValidationError("Pass at least one id.")
        if len(items) > MAX_BATCH_IDS:
            raise ValidationError(f"Pass at most {MAX_BATCH_IDS} ids at once.")
        return list(dict.fromkeys(items))


class ReferralLinkCreateSchema(Schema):
    pack_id = fields.String(required=True, validate=validate.Length(1, 64))
    channel = fields.String(required=True, validate=validate.OneOf(SHARE_CHANNELS))
    fan_ref = fields.String(
        required=True,
        validate=validate.Regexp(
            SHA256_HEX, error="Send the SHA-256 hex digest of the fan's trimmed, lower-cased email."
        ),
        metadata={"description": "SHA-256 hex of the fan's trimmed, lower-cased email."},
    )


class ReferralLinkSchema(Schema):
    id = fields.String(required=True)
    code = fields.String(required=True)
    short_url = fields.String(required=True)
    destination_url = fields.String(
        allow_none=True, metadata={"description": "Destination with UTM parameters."}
    )
    channel = fields.String(required=True)
    pack_id = fields.String(required=True)
    fan_id = fields.String(allow_none=True)
    qr_code_url = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class ReferralLinkListSchema(Schema):
    items = fields.List(fields.Nested(ReferralLinkSchema), required=True)


class PageInfoSchema(Schema):
    has_next_page = fields.Boolean(required=True)
    end_cursor = fields.String(allow_none=True)


class LinkBatchQuerySchema(Schema):
    ids = CommaSeparated(metadata={"description": "Link ids, comma-separated (at most 200)."})
    codes = CommaSeparated(metadata={"description": "Link codes, comma-separated (at most 200)."})

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("ids")) == bool(data.get("codes")):
            raise ValidationError("Pass either ids or codes.", "ids")


class FanLinksQuerySchema(Schema):
    first = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    after = fields.String(load_default=None)
    pack_ids = CommaSeparated(
        metadata={"description": "Only the fan's links for these packs (no paging)."}
    )
    include = fields.String(
        load_default=None,
        validate=validate.OneOf(("stats",), error="The only thing to include is 'stats'."),
        metadata={
            "description": (
                "'stats' embeds each link's numbers (as /v1/stats/links gives them), "
                "saving a second call."
            )
        },
    )


class ShareCreateSchema(Schema):
    pack_id = fields.String(required=True, validate=validate.Length(1, 64))
    channel = fields.String(required=True, validate=validate.OneOf(SHARE_CHANNELS))


class ShareSchema(Schema):
    id = fields.String(required=True)
    fan_id = fields.String(required=True)
    pack_id = fields.String(required=True)
    channel = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class ConversionCreateSchema(Schema):
    external_id = fields.String(required=True, validate=validate.Length(1, 200))
    referral_code = fields.String(
        load_default=None,
        validate=validate.Regexp(CODE_PATTERN.pattern, error="Not a referral code."),
    )
    click_id = fields.String(
        load_default=None,
        validate=validate.Regexp(CLICK_ID_PATTERN.pattern, error="Not a click id (ff_click)."),
    )
    amount_cents = fields.Integer(
        load_default=None, strict=True, validate=validate.Range(0, 10**12)
    )
    currency = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[A-Z]{3}$", error="Use an ISO 4217 code such as EUR."),
    )
    customer_ref = fields.String(
        load_default=None,
        validate=validate.Length(3, 320),
        metadata={
            "description": "The customer's email, or the SHA-256 hex of it; kept as a digest."
        },
    )
    occurred_at = UtcAwareDateTime(load_default=None)

    @validates_schema
    def _attribution_and_money(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("referral_code") and not data.get("click_id"):
            raise ValidationError(
                "Send the referral code, the click id (ff_click), or both.", "referral_code"
            )
        if data.get("amount_cents") is not None and not data.get("currency"):
            raise ValidationError("An amount needs its currency.", "currency")


class ConversionReverseSchema(Schema):
    external_id = fields.String(required=True, validate=validate.Length(1, 200))
    reason = fields.String(load_default=None, validate=validate.Length(max=500))


class ConversionReviewSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("APPROVE", "REJECT")))
    note = fields.String(load_default=None, validate=validate.Length(max=300))


class ConversionSchema(Schema):
    id = fields.String(required=True)
    partner_id = fields.String(required=True)
    external_id = fields.String(required=True)
    status = fields.String(required=True)
    flags = fields.List(fields.String(), required=True)
    reason = fields.String(allow_none=True)
    link_id = fields.String(allow_none=True)
    click_id = fields.String(allow_none=True)
    fan_id = fields.String(allow_none=True)
    pack_id = fields.String(allow_none=True)
    amount_cents = fields.Integer(allow_none=True)
    currency = fields.String(allow_none=True)
    occurred_at = fields.DateTime(required=True)
    created_at = fields.DateTime(required=True)
    approve_after = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    reversed_at = fields.DateTime(allow_none=True)
    reversal_reason = fields.String(allow_none=True)


class ConversionListSchema(Schema):
    items = fields.List(fields.Nested(ConversionSchema), required=True)


class IdsQuerySchema(Schema):
    ids = CommaSeparated(required=True)


class StatsQuerySchema(Schema):
    ids = CommaSeparated(required=True)
    since = fields.Date(load_default=None, metadata={"description": "Count from this UTC day."})


class TallySchema(Schema):
    id = fields.String(required=True, attribute="key")
    shares = fields.Integer(required=True)
    human_clicks = fields.Integer(required=True)
    unique_visitors = fields.Integer(required=True)
    preview_fetches = fields.Integer(required=True)
    bot_clicks = fields.Integer(required=True)
    conversions = fields.Integer(required=True)
    revenue = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "Approved amounts in cents, by currency."},
    )


class TallyListSchema(Schema):
    items = fields.List(fields.Nested(TallySchema), required=True)


class FanLinkSchema(ReferralLinkSchema):
    cursor = fields.String(
        required=True, metadata={"description": "Pass as 'after' to list the links after this one."}
    )
    stats = fields.Nested(
        TallySchema, metadata={"description": "The link's numbers, with include=stats only."}
    )


class FanLinkPageSchema(Schema):
    items = fields.List(fields.Nested(FanLinkSchema), required=True)
    page_info = fields.Nested(PageInfoSchema, required=True)
    total_count = fields.Integer(required=True)


class DayTallySchema(TallySchema):
    day = fields.Date(required=True)


class DailyQuerySchema(Schema):
    scope = fields.String(required=True, validate=validate.OneOf(("link", "fan", "pack")))
    id = fields.String(required=True, validate=validate.Length(1, 64))
    start = fields.Date(required=True)
    end = fields.Date(required=True)

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start and end and not 0 <= (end - start).days <= 366:
            raise ValidationError("Ask for 1 to 367 days, with end on or after start.", "end")
        # A day's series reads up to the next midnight, which the last date has not.
        if end and end >= date.max:
            raise ValidationError(f"Ask for days before {date.max.isoformat()}.", "end")


class DailySeriesSchema(Schema):
    items = fields.List(fields.Nested(DayTallySchema), required=True)


class TopFansQuerySchema(Schema):
    since = fields.Date(load_default=None)
    first = fields.Integer(load_default=10, validate=validate.Range(1, 100))


class FanExportSchema(Schema):
    fan_id = fields.String(required=True)
    links = fields.List(fields.Dict(), required=True)
    shares = fields.List(fields.Dict(), required=True)
    conversions = fields.List(fields.Dict(), required=True)


class FanErasureSchema(Schema):
    fan_id = fields.String(required=True)
    untied = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class ErrorSchema(Schema):
    error = fields.Dict(required=True)
