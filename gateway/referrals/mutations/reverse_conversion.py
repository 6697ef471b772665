"""reverseConversion: a partner reports a refund of a conversion it recorded."""

from __future__ import annotations

from typing import Any

from gateway.core.context import GraphQLContext
from gateway.core.inputs import to_json
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import CONVERSIONS_WRITE
from gateway.referrals.payloads import ConversionPayload, ReverseConversionInput


class ReverseConversion(BaseMutation):
    """Reverse a conversion (refund); rewards it earned are taken back (CONVERSIONS_WRITE)."""

    permissions = (CONVERSIONS_WRITE,)

    class Arguments:
        input = ReverseConversionInput(required=True, description="Which conversion and why.")

    Output = ConversionPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> ConversionPayload:
        conversion = context.backend("referrals").call(
            "POST",
            "/v1/conversions/reverse",
            context.principal,
            json=to_json(dict(arguments["input"])),
        )
        return ConversionPayload(conversion={**conversion, "__typename": "Conversion"}, errors=[])
