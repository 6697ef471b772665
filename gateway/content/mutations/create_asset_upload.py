"""createAssetUpload: the presigned flow for large files, straight to object storage."""

from __future__ import annotations

from typing import Any

from gateway.content.mutations._common import pack_id_from
from gateway.content.payloads import CreateAssetUploadInput, CreateAssetUploadPayload
from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF


class CreateAssetUpload(BaseMutation):
    """Get a presigned POST to send a large image straight to storage (marketers).

    POST the form `fields` and then the file to `url`; then call
    `completeAssetUpload` with the `uploadToken` so the asset is checked and
    its renditions made.
    """

    permissions = (STAFF,)

    class Arguments:
        input = CreateAssetUploadInput(required=True, description="The file to come.")

    Output = CreateAssetUploadPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> CreateAssetUploadPayload:
        data = arguments["input"]
        pack_id = pack_id_from(data.pack_id)
        upload = context.backend("content").call(
            "POST",
            f"/v1/packs/{pack_id}/direct-uploads",
            context.principal,
            json={"filename": data.filename, "content_type": data.content_type},
        )
        return CreateAssetUploadPayload(upload=upload, errors=[])
