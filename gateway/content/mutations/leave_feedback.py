"""leaveFeedback: a fan tells marketers what they think of a pack."""

from __future__ import annotations

from typing import Any

from gateway.content.mutations._common import pack_id_from
from gateway.content.payloads import LeaveFeedbackInput, LeaveFeedbackPayload
from gateway.core.context import GraphQLContext
from gateway.core.inputs import to_json
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import FAN


class LeaveFeedback(BaseMutation):
    """Leave feedback on a pack: liked it, did not, or an idea (fans)."""

    permissions = (FAN,)

    class Arguments:
        input = LeaveFeedbackInput(required=True, description="The feedback.")

    Output = LeaveFeedbackPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> LeaveFeedbackPayload:
        data = dict(arguments["input"])
        pack_id = pack_id_from(data.pop("pack_id"))
        context.backend("content").call(
            "PUT", f"/v1/packs/{pack_id}/feedback", context.principal, json=to_json(data)
        )
        return LeaveFeedbackPayload(ok=True, errors=[])
