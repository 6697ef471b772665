"""updateContentPack: a marketer changes a pack."""

from __future__ import annotations

from typing import Any

from gateway.content.mutations._common import pack_call, pack_id_from
from gateway.content.payloads import ContentPackPayload, UpdateContentPackInput
from gateway.core.context import GraphQLContext
from gateway.core.inputs import to_json
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF


class UpdateContentPack(BaseMutation):
    """Change a pack's fields; omitted fields stay as they are (marketers)."""

    permissions = (STAFF,)

    class Arguments:
        input = UpdateContentPackInput(required=True, description="The changes.")

    Output = ContentPackPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> ContentPackPayload:
        changes = dict(arguments["input"])
        pack_id = pack_id_from(changes.pop("id"), field="id")
        # Explicit nulls are kept: null expiresAt means "never expires".
        body = to_json(changes, drop_none=False)
        pack = pack_call(context, "PATCH", f"/v1/packs/{pack_id}", json=body)
        return ContentPackPayload(content_pack=pack, errors=[])
