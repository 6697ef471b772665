"""completeAssetUpload: the file of a presigned upload has arrived; make renditions."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.content.payloads import AssetPayload
from gateway.core.context import GraphQLContext
from gateway.core.ids import raw_id_of
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF
from gateway.identity.errors import NotFound


class CompleteAssetUpload(BaseMutation):
    """Tell content the presigned upload is done; it checks the file and makes renditions."""

    permissions = (STAFF,)
    input_name = "id"

    class Arguments:
        id = graphene.ID(required=True, description="Global id of the asset.")

    Output = AssetPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> AssetPayload:
        asset_id = raw_id_of(arguments["id"], "Asset")
        if asset_id is None:
            raise NotFound("No asset has this id.")
        asset = context.backend("content").call(
            "POST", f"/v1/assets/{asset_id}/complete", context.principal
        )
        return AssetPayload(asset={**asset, "__typename": "Asset"}, errors=[])
