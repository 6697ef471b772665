"""createContentPack: a marketer drafts a pack."""

from __future__ import annotations

from typing import Any

from gateway.content.mutations._common import pack_call
from gateway.content.payloads import ContentPackPayload, CreateContentPackInput
from gateway.core.context import GraphQLContext
from gateway.core.inputs import to_json
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF


class CreateContentPack(BaseMutation):
    """Create a pack as a draft (marketers)."""

    permissions = (STAFF,)

    class Arguments:
        input = CreateContentPackInput(required=True, description="The new pack.")

    Output = ContentPackPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> ContentPackPayload:
        pack = pack_call(context, "POST", "/v1/packs", json=to_json(dict(arguments["input"])))
        return ContentPackPayload(content_pack=pack, errors=[])
