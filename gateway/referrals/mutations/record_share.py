"""recordShare: a fan says they shared a pack on a channel."""

from __future__ import annotations

from typing import Any

from gateway.content.mutations._common import pack_id_from
from gateway.core.context import GraphQLContext
from gateway.core.inputs import to_json
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import FAN
from gateway.referrals.payloads import RecordShareInput, RecordSharePayload


class RecordShare(BaseMutation):
    """Record that the fan shared a pack on a channel (fans)."""

    permissions = (FAN,)

    class Arguments:
        input = RecordShareInput(required=True, description="The pack and channel.")

    Output = RecordSharePayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> RecordSharePayload:
        data = arguments["input"]
        context.backend("referrals").call(
            "POST",
            "/v1/shares",
            context.principal,
            json={
                "pack_id": pack_id_from(data.pack_id),
                "channel": to_json(data.channel),
            },
        )
        return RecordSharePayload(ok=True, errors=[])
