# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""Inputs and payloads of the content mutations."""

from __future__ import annotations

import graphene

from gateway.account.types import FanTier
from gateway.content.types import (
    Asset,
    ContentPack,
    FeedbackSentiment,
    PackPurpose,
    ShareChannel,
)
from gateway.core.types import DateTime, Upload, UserError


class CaptionInput(graphene.InputObjectType):
    """A caption for one channel."""

    channel = graphene.Field(ShareChannel, required=True, description="The channel it suits.")
    text = graphene.String(required=True, description="The caption.")


class CreateContentPackInput(graphene.InputObjectType):
    """A new pack, created as a draft."""

    title = graphene.String(required=True, description="The pack's title.")
    summary = graphene.String(required=True, description="One or two sentences about it.")
    story = graphene.String(required=True, description="The story, in Markdown.")
    purpose = graphene.Field(PackPurpose, required=True, description="Laugh, learn or love.")
    destination_url = graphene.String(required=True, description="Where its links lead.")
    min_tier = graphene.Field(FanTier, description="The lowest tier that sees it unlocked.")
    tags = graphene.List(graphene.NonNull(graphene.String), description="Tags.")
    captions = graphene.List(graphene.NonNull(CaptionInput), description="A caption per channel.")
    hashtags = graphene.List(graphene.NonNull(graphene.String), description="Hashtags to add.")
    expires_at = DateTime(description="When it stops being shown, if ever.")


class UpdateContentPackInput(graphene.InputObjectType):
    """Changes to a pack; omitted fields stay as they are."""

    id = graphene.ID(required=True, description="Global id of the pack.")
    title = graphene.String(description="The pack's title.")
    summary = graphene.String(description="One or two sentences about it.")
    story = graphene.String(description="The story, in Markdown.")
    purpose = graphene.Field(PackPurpose, description="Laugh, learn or love.")
    destination_url = graphene.String(description="Where its links lead.")
    min_tier = graphene.Field(FanTier, description="The lowest tier that sees it unlocked.")
    tags = graphene.List(graphene.NonNull(graphene.String), description="Tags.")
    captions = graphene.List(graphene.NonNull(CaptionInput), description="A caption per channel.")
    hashtags = graphene.List(graphene.NonNull(graphene.String), description="Hashtags to add.")
    expires_at = DateTime(description="When it stops being shown; null to never expire.")


class ContentPackPayload(graphene.ObjectType):
    """The pack after the change."""

    content_pack = graphene.Field(ContentPack, description="The pack.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class UploadAssetInput(graphene.InputObjectType):
    """An image for a pack, sent with the GraphQL multipart request spec."""

    pack_id = graphene.ID(required=True, description="Global id of the pack.")
    file = Upload(required=True, description="The file (one per request).")
    alt_text = graphene.String(description="Text for people who cannot see the image.")


class AssetPayload(graphene.ObjectType):
    """The new asset; renditions follow while it is PROCESSING."""

    asset = graphene.Field(Asset, description="The asset.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class CreateAssetUploadInput(graphene.InputObjectType):
    """A large image to send straight to object storage."""

    pack_id = graphene.ID(required=True, description="Global id of the pack.")
    filename = graphene.String(required=True, description="The file's name.")
    content_type = graphene.String(
        required=True, description="image/jpeg, image/png or image/webp."
    )


class PresignedUpload(graphene.ObjectType):
    """Where and how to POST the file (an S3 presigned POST)."""

    url = graphene.String(required=True, description="The URL to POST the form to.")
    fields = graphene.JSONString(
        required=True, description="Form fields to send, as given, before the file."
    )
    upload_token = graphene.String(
        required=True, description="Pass to completeAssetUpload once the file is sent."
    )
    max_bytes = graphene.Int(required=True, description="The largest file storage accepts.")
    expires_at = DateTime(required=True, description="When the permission to upload ends.")


class CreateAssetUploadPayload(graphene.ObjectType):
    """Where to send the file."""

    upload = graphene.Field(PresignedUpload, description="Where to send the file.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class CompleteAssetUploadInput(graphene.InputObjectType):
    """A presigned upload whose file has been sent."""

    pack_id = graphene.ID(required=True, description="Global id of the pack.")
    upload_token = graphene.String(required=True, description="From createAssetUpload.")
    alt_text = graphene.String(description="Text for people who cannot see the image.")


class LeaveFeedbackInput(graphene.InputObjectType):
    """What a fan thinks of a pack."""

    pack_id = graphene.ID(required=True, description="Global id of the pack.")
    sentiment = graphene.Field(FeedbackSentiment, required=True, description="Liked it or not.")
    text = graphene.String(description="Anything the fan wants to add.")


class LeaveFeedbackPayload(graphene.ObjectType):
    """Whether the feedback was recorded."""

    ok = graphene.Boolean(required=True, description="The feedback was recorded.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )

    @staticmethod
    def resolve_ok(root: LeaveFeedbackPayload, _info: object) -> bool:
        return bool(root.ok)
