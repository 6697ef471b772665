# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""Inputs and payloads of the referrals mutations."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.content.types import ShareChannel
from gateway.core.types import DateTime, UserError
from gateway.referrals.types import Conversion, ReferralLink


class CreateReferralLinkInput(graphene.InputObjectType):
    """The pack and channel of a new link."""

    pack_id = graphene.ID(required=True, description="Global id of the pack.")
    channel = graphene.Field(ShareChannel, required=True, description="Where it will be shared.")


class ReferralLinkPayload(graphene.ObjectType):
    """The fan's link (the same one again for the same pack and channel)."""

    referral_link = graphene.Field(ReferralLink, description="The link.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class RecordShareInput(graphene.InputObjectType):
    """A share the fan just made."""

    pack_id = graphene.ID(required=True, description="Global id of the pack.")
    channel = graphene.Field(ShareChannel, required=True, description="Where it was shared.")


class RecordSharePayload(graphene.ObjectType):
    """Whether the share was recorded."""

    ok = graphene.Boolean(required=True, description="The share was recorded.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )

    @staticmethod
    def resolve_ok(root: Any, _info: Any) -> bool:
        return bool(root.ok)


class RecordConversionInput(graphene.InputObjectType):
    """A sale or sign-up on a partner site that a referral link brought."""

    external_id = graphene.String(
        required=True,
        description=(
            "The partner's own order or sign-up id; a repeat with the same id changes nothing."
        ),
    )
    referral_code = graphene.String(
        description=(
            "The referral code from the short link, or the click id passed to the destination."
        )
    )
    click_id = graphene.String(description="The click id passed to the destination.")
    amount_cents = graphene.Int(description="The amount in cents, if any.")
    currency = graphene.String(description="ISO 4217 currency of the amount.")
    customer_ref = graphene.String(
        description=(
            "The customer's email address, or the SHA-256 hex digest of it lowercased\n"
            "and trimmed. Compared with the fan's own to refuse self-referrals and with\n"
            "earlier conversions to refuse repeats; stored only as the digest."
        )
    )
    occurred_at = DateTime(description="When it happened; now if omitted.")


class ConversionPayload(graphene.ObjectType):
    """The conversion as recorded."""

    conversion = graphene.Field(Conversion, description="The conversion.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class ReverseConversionInput(graphene.InputObjectType):
    """A refund or cancellation of a recorded conversion."""

    external_id = graphene.String(required=True, description="The partner's id for it.")
    reason = graphene.String(description="Why, for the fan and the marketers.")
