"""createReferralLink: a fan's tracked link for a pack and channel (the same one again)."""

from __future__ import annotations

from typing import Any

from gateway.content.mutations._common import pack_id_from
from gateway.core.context import GraphQLContext
from gateway.core.inputs import to_json
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import FAN
from gateway.identity.emails import fan_ref
from gateway.models import User
from gateway.referrals.payloads import CreateReferralLinkInput, ReferralLinkPayload


class CreateReferralLink(BaseMutation):
    """Make (or get again) the fan's link for a pack and channel (fans)."""

    permissions = (FAN,)

    class Arguments:
        input = CreateReferralLinkInput(required=True, description="The pack and channel.")

    Output = ReferralLinkPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> ReferralLinkPayload:
        data = arguments["input"]
        # Only the email is read here: no SQLite write lock to wait for or hold.
        with context.reading() as session:
            user = session.get(User, context.caller.user_id)
            email = user.email if user is not None else None
        link = context.backend("referrals").call(
            "POST",
            "/v1/links",
            context.principal,
            json={
                "pack_id": pack_id_from(data.pack_id),
                "channel": to_json(data.channel),
                # Referrals refuses self-referrals by comparing digests, never emails.
                "fan_ref": fan_ref(email or context.caller.user_id or ""),
            },
        )
        return ReferralLinkPayload(referral_link={**link, "__typename": "ReferralLink"}, errors=[])
