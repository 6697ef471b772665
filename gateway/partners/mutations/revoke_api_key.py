# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""revokeApiKey: the key stops working with the very next request."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.core.context import GraphQLContext
from gateway.core.ids import raw_id_of
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF
from gateway.core.types import UserError
from gateway.identity.api_keys import revoke_api_key
from gateway.identity.errors import NotFound
from gateway.partners.types import ApiKey


class RevokeApiKeyPayload(graphene.ObjectType):
    """The revoked key."""

    api_key = graphene.Field(ApiKey, description="The key, now revoked.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class RevokeApiKey(BaseMutation):
    """Revoke a partner key; it is refused from the next request on."""

    permissions = (STAFF,)
    input_name = "id"

    class Arguments:
        id = graphene.ID(required=True, description="Global id of the key.")

    Output = RevokeApiKeyPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> RevokeApiKeyPayload:
        key_id = raw_id_of(arguments["id"], "ApiKey")
        if key_id is None:
            raise NotFound("No API key has this id.")
        with context.transaction() as session:
            key = revoke_api_key(session, key_id=key_id)
        return RevokeApiKeyPayload(api_key=key, errors=[])
