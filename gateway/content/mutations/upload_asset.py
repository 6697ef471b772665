"""uploadAsset: an image sent with the GraphQL multipart request spec, streamed to content."""

from __future__ import annotations

from typing import Any

from gateway.content.multipart_stream import MultipartFileStream
from gateway.content.mutations._common import pack_id_from
from gateway.content.payloads import AssetPayload, UploadAssetInput
from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF
from gateway.identity.errors import InvalidInput
from gateway.uploads import UploadedFile


class UploadAsset(BaseMutation):
    """Attach an image to a pack; renditions are made in the background (marketers)."""

    permissions = (STAFF,)

    class Arguments:
        input = UploadAssetInput(required=True, description="The pack and the file.")

    Output = AssetPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> AssetPayload:
        data = arguments["input"]
        pack_id = pack_id_from(data.pack_id)
        upload = data.file
        if not isinstance(upload, UploadedFile):
            raise InvalidInput("Send the file with the GraphQL multipart request.", field="file")
        body = MultipartFileStream(
            fields={"alt_text": data.alt_text} if data.alt_text else {},
            file_field="file",
            filename=upload.filename,
            content_type=upload.content_type or "application/octet-stream",
            stream=upload.stream,
            size=upload.size,
        )
        # The gateway never holds the whole file in memory: content reads it as it comes.
        asset = context.backend("content").call(
            "POST",
            f"/v1/packs/{pack_id}/assets",
            context.principal,
            data=body,
            headers={"Content-Type": body.content_type},
        )
        return AssetPayload(asset={**asset, "__typename": "Asset"}, errors=[])
