"""uploadAsset: an image sent with the GraphQL multipart request spec, streamed to content."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

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
        params = {"filename": upload.filename}
        if data.alt_text:
            params["alt_text"] = data.alt_text
        # The body is the file itself, read as it is sent: the gateway never
        # holds a whole upload in memory.
        asset = context.backend("content").call(
            "POST",
            f"/v1/packs/{pack_id}/assets?{urlencode(params)}",
            context.principal,
            data=upload.stream,
            headers={
                "Content-Type": upload.content_type or "application/octet-stream",
                "Content-Length": str(upload.size),
            },
        )
        return AssetPayload(asset={**asset, "__typename": "Asset"}, errors=[])
