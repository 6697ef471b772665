"""Marshmallow schemas: every view loads its input and dumps its output with these."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate

from services.common.storable_input import is_storable, record_ids
from services.content.models import CHANNELS, PURPOSES, SENTIMENTS, TIERS
from services.content.packs import MAX_BATCH_IDS, MAX_PAGE_SIZE

PACK_STATUSES = ("DRAFT", "PUBLISHED", "ARCHIVED")
ASSET_STATUSES = ("PROCESSING", "READY", "FAILED")
# What a pack list may leave out of each pack (?omit=): the costly parts.
OMITTABLE_PACK_FIELDS = ("assets",)
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


def _text(max_length: int, *, min_length: int = 1, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=min_length, max=max_length), **kwargs)


class CaptionSchema(Schema):
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    text = _text(65_536, required=True)


class PackWriteFields(Schema):
    """Fields a marketer sets on a pack; lengths here, content rules in the domain."""

    title = _text(200)
    summary = _text(500)
    story = _text(50_000, min_length=0)
    purpose = fields.String(validate=validate.OneOf(PURPOSES))
    destination_url = _text(2048)
    min_tier = fields.String(validate=validate.OneOf(TIERS))
    tags = fields.List(_text(100), validate=validate.Length(max=100))
    captions = fields.List(fields.Nested(CaptionSchema), validate=validate.Length(max=10))
    hashtags = fields.List(_text(200), validate=validate.Length(max=100))
    expires_at = fields.AwareDateTime(allow_none=True)
    sharing_rewarded = fields.Boolean()
    disclosure = _text(50)


class ContentPackCreateSchema(PackWriteFields):
    title = _text(200, required=True)
    summary = _text(500, required=True)
    story = _text(50_000, min_length=0, required=True)
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    destination_url = _text(2048, required=True)


class ContentPackUpdateSchema(PackWriteFields):
    """Every field optional: only those sent change."""


class FeedbackTallySchema(Schema):
    positive = fields.Integer(required=True)
    negative = fields.Integer(required=True)
    ideas = fields.Integer(required=True)


class PackStatsSchema(Schema):
    feedback = fields.Nested(FeedbackTallySchema, required=True)


class ShareKitSchema(Schema):
    captions = fields.List(fields.Nested(CaptionSchema), required=True)
    hashtags = fields.List(fields.String(), required=True)
    disclosure = fields.String(allow_none=True, required=True)


class RenditionReadSchema(Schema):
    name = fields.String(required=True)
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)
    content_type = fields.String(required=True)
    bytes = fields.Integer(required=True)
    url = fields.String(required=True, metadata={"description": "Signed; expires."})


class AssetReadSchema(Schema):
    id = fields.String(required=True)
    pack_id = fields.String(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(ASSET_STATUSES))
    failure_code = fields.String(allow_none=True)
    failure_message = fields.String(allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    bytes = fields.Integer(required=True)
    alt_text = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)
    renditions = fields.List(fields.Nested(RenditionReadSchema), required=True)


class ContentPackReadSchema(Schema):
    id = fields.String(required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    story = fields.String(required=True, metadata={"description": "Markdown; empty if locked."})
    story_html = fields.String(required=True, metadata={"description": "Sanitised HTML."})
    purpose = fields.String(required=True, validate=validate.OneOf(PURPOSES))
    status = fields.String(required=True, validate=validate.OneOf(PACK_STATUSES))
    min_tier = fields.String(required=True, validate=validate.OneOf(TIERS))
    locked = fields.Boolean(required=True)
    tags = fields.List(fields.String(), required=True)
    destination_url = fields.String(required=True)
    captions = fields.List(fields.Nested(CaptionSchema), required=True)
    hashtags = fields.List(fields.String(), required=True)
    sharing_rewarded = fields.Boolean(required=True)
    disclosure = fields.String(required=True)
    share_kit = fields.Nested(ShareKitSchema, required=True)
    assets = fields.List(
        fields.Nested(AssetReadSchema),
        metadata={"description": "Left out when the list was asked with omit=assets."},
    )
    cover_url = fields.String(allow_none=True, required=True)
    teaser_url = fields.String(allow_none=True, required=True)
    published_at = fields.DateTime(allow_none=True, required=True)
    expires_at = fields.DateTime(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    stats = fields.Nested(PackStatsSchema, allow_none=True, required=True)


class PageInfoSchema(Schema):
    has_next_page = fields.Boolean(required=True)
    end_cursor = fields.String(allow_none=True, required=True)


class PageQuerySchema(Schema):
    first = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_PAGE_SIZE))
    after = fields.String(load_default=None, validate=validate.Length(max=500))


class ContentPackListQuerySchema(PageQuerySchema):
    ids = fields.String(
        load_default=None,
        metadata={"description": f"Comma-separated ids (at most {MAX_BATCH_IDS}): batch read."},
    )
    status = fields.String(load_default=None, validate=validate.OneOf(PACK_STATUSES))
    purpose = fields.String(load_default=None, validate=validate.OneOf(PURPOSES))
    tag = fields.String(load_default=None, validate=validate.Length(max=100))
    search = fields.String(load_default=None, validate=validate.Length(max=200))
    omit = fields.String(
        load_default=None,
        validate=validate.OneOf(OMITTABLE_PACK_FIELDS),
        metadata={
            "description": (
                "assets: leave each pack's assets out (nothing read or signed for them) "
                "when the caller shows packs without their files."
            )
        },
    )

    @pre_load
    def _upper_enums(self, data: Any, **_: Any) -> Any:
        data = dict(data)
        for name in ("status", "purpose"):
            if isinstance(data.get(name), str):
                data[name] = data[name].upper()
        return data


def parse_ids(raw: str) -> list[int]:
    """Ids of a batch read; ids that cannot exist (not numbers) are simply absent."""
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if len(parts) > MAX_BATCH_IDS:
        raise ValidationError({"ids": [f"At most {MAX_BATCH_IDS} ids."]})
    return record_ids(parts)


class ContentPackPageSchema(Schema):
    items = fields.List(fields.Nested(ContentPackReadSchema), required=True)
    page_info = fields.Nested(PageInfoSchema)
    total_count = fields.Integer()


class ContentPackBatchSchema(Schema):
    items = fields.List(fields.Nested(ContentPackReadSchema), required=True)


def _storable(text: str) -> None:
    # JSON bodies, paths and queries are checked before the view (common storable_input); a
    # multipart form is read by its view alone, under the upload's own size limit.
    if not is_storable(text):
        raise ValidationError("Remove the NUL character (\\u0000) or unpaired surrogate.")


class AssetUploadFormSchema(Schema):
    """The non-file fields of the multipart upload; the image itself is the part ``file``."""

    alt_text = fields.String(
        validate=[validate.Length(min=0, max=500), _storable], load_default=None, allow_none=True
    )


class DirectUploadCreateSchema(Schema):
    filename = _text(255, required=True)
    content_type = fields.String(required=True, validate=validate.OneOf(IMAGE_TYPES))


class DirectUploadReadSchema(Schema):
    url = fields.String(required=True, metadata={"description": "POST the form here."})
    fields_ = fields.Dict(
        data_key="fields",
        attribute="fields",
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Form fields to send before the file part."},
    )
    upload_token = fields.String(required=True)
    max_bytes = fields.Integer(required=True)
    expires_at = fields.DateTime(required=True)


class DirectUploadCompleteSchema(Schema):
    upload_token = _text(4000, required=True)
    alt_text = _text(500, min_length=0, load_default=None, allow_none=True)


class FeedbackCreateSchema(Schema):
    sentiment = fields.String(required=True, validate=validate.OneOf(SENTIMENTS))
    text = _text(2000, min_length=0, load_default=None, allow_none=True)


class FeedbackReadSchema(Schema):
    id = fields.String(required=True)
    pack_id = fields.String(required=True)
    fan_id = fields.String(allow_none=True, required=True)
    sentiment = fields.String(required=True)
    text = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class FeedbackPageSchema(Schema):
    items = fields.List(fields.Nested(FeedbackReadSchema), required=True)
    page_info = fields.Nested(PageInfoSchema, required=True)
    total_count = fields.Integer(required=True)
    tally = fields.Nested(FeedbackTallySchema, required=True)


class FanExportSchema(Schema):
    fan_id = fields.String(required=True)
    tier = fields.String(required=True)
    feedback = fields.List(fields.Nested(FeedbackReadSchema), required=True)


class FanErasureSchema(Schema):
    fan_id = fields.String(required=True)
    feedback_anonymised = fields.Integer(required=True)


class SignedMediaQuerySchema(Schema):
    expires = fields.Integer(required=True)
    sig = _text(100, required=True)


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)
