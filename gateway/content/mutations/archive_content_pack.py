"""archiveContentPack: Archive a published pack; it is shown no more."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.content.mutations._common import pack_call, pack_id_from
from gateway.content.payloads import ContentPackPayload
from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF


class ArchiveContentPack(BaseMutation):
    """Archive a published pack; it is shown no more (marketers)."""

    permissions = (STAFF,)
    input_name = "id"

    class Arguments:
        id = graphene.ID(required=True, description="Global id of the pack.")

    Output = ContentPackPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> ContentPackPayload:
        pack_id = pack_id_from(arguments["id"], field="id")
        pack = pack_call(context, "POST", f"/v1/packs/{pack_id}/archive")
        return ContentPackPayload(content_pack=pack, errors=[])
