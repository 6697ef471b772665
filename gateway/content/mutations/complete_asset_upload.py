"""completeAssetUpload: the file of a presigned upload has arrived; make renditions."""

from __future__ import annotations

from typing import Any

from gateway.content.mutations._common import pack_id_from
from gateway.content.payloads import AssetPayload, CompleteAssetUploadInput
from gateway.core.context import GraphQLContext
from gateway.core.inputs import to_json
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF


class CompleteAssetUpload(BaseMutation):
    """Finish a presigned upload: content checks the file and makes renditions (marketers)."""

    permissions = (STAFF,)

    class Arguments:
        input = CompleteAssetUploadInput(required=True, description="The finished upload.")

    Output = AssetPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> AssetPayload:
        data = dict(arguments["input"])
        pack_id = pack_id_from(data.pop("pack_id"))
        asset = context.backend("content").call(
            "POST",
            f"/v1/packs/{pack_id}/direct-uploads/complete",
            context.principal,
            json=to_json(data),
        )
        return AssetPayload(asset={**asset, "__typename": "Asset"}, errors=[])
