"""recordConversion: a partner reports a sale; the same external id twice is one conversion."""

from __future__ import annotations

from typing import Any

from gateway.core.context import GraphQLContext
from gateway.core.inputs import to_json
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import CONVERSIONS_WRITE
from gateway.referrals.payloads import ConversionPayload, RecordConversionInput


class RecordConversion(BaseMutation):
    """Record a conversion a referral link brought (partner keys with CONVERSIONS_WRITE).

    A repeat with the same external id returns the conversion recorded first.
    """

    permissions = (CONVERSIONS_WRITE,)

    class Arguments:
        input = RecordConversionInput(required=True, description="The conversion.")

    Output = ConversionPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> ConversionPayload:
        # The partner is the API key the request came with, never a field of the input.
        body = to_json(dict(arguments["input"]))
        conversion = context.backend("referrals").call(
            "POST", "/v1/conversions", context.principal, json=body
        )
        return ConversionPayload(conversion={**conversion, "__typename": "Conversion"}, errors=[])
