# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""createApiKey: a marketer makes a partner key; the secret is shown this once."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF
from gateway.core.types import UserError
from gateway.identity.api_keys import create_api_key
from gateway.partners.types import ApiKey, ApiScope


class CreateApiKeyInput(graphene.InputObjectType):
    """A new partner key."""

    name = graphene.String(required=True, description="What the key is for, e.g. the site.")
    scopes = graphene.List(
        graphene.NonNull(ApiScope), required=True, description="What the key may do."
    )


class CreateApiKeyPayload(graphene.ObjectType):
    """The new key, and its secret."""

    api_key = graphene.Field(ApiKey, description="The new key.")
    secret = graphene.String(description="Shown once; only a hash is stored.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class CreateApiKey(BaseMutation):
    """Create a partner API key with scopes; its secret is returned once."""

    permissions = (STAFF,)

    class Arguments:
        input = CreateApiKeyInput(required=True, description="The new key.")

    Output = CreateApiKeyPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> CreateApiKeyPayload:
        data = arguments["input"]
        with context.transaction() as session:
            key, secret = create_api_key(
                session,
                name=data.name,
                scopes=[getattr(scope, "value", scope) for scope in data.scopes],
                created_by=context.caller.user_id,
            )
        return CreateApiKeyPayload(api_key=key, secret=secret, errors=[])
