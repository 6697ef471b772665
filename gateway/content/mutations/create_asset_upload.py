"""createAssetUpload: the presigned flow for large files, straight to object storage."""

from __future__ import annotations

from typing import Any

from gateway.content.mutations._common import pack_id_from
from gateway.content.payloads import CreateAssetUploadInput, CreateAssetUploadPayload
from gateway.core.context import GraphQLContext
from gateway.core.inputs import to_json
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF


class CreateAssetUpload(BaseMutation):
    """Reserve an asset and get a presigned POST to send a large file directly (marketers).

    After the upload, call `completeAssetUpload` so renditions are made.
    """

    permissions = (STAFF,)

    class Arguments:
        input = CreateAssetUploadInput(required=True, description="The file to come.")

    Output = CreateAssetUploadPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> CreateAssetUploadPayload:
        data = dict(arguments["input"])
        pack_id = pack_id_from(data.pop("pack_id"))
        body = context.backend("content").call(
            "POST", f"/v1/packs/{pack_id}/uploads", context.principal, json=to_json(data)
        )
        return CreateAssetUploadPayload(
            asset={**body["asset"], "__typename": "Asset"}, upload=body["upload"], errors=[]
        )
