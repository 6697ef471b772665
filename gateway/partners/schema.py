# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""The partner-key fields of Query and Mutation."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from gateway.core.context import context_of
from gateway.core.permissions import STAFF, requires
from gateway.identity.api_keys import list_api_keys
from gateway.models import ApiKey as ApiKeyRow
from gateway.partners.mutations.create_api_key import CreateApiKey
from gateway.partners.mutations.revoke_api_key import RevokeApiKey
from gateway.partners.types import ApiKey


class PartnerQueries(graphene.ObjectType):
    api_keys = graphene.List(
        graphene.NonNull(ApiKey),
        required=True,
        description="Marketers only. Every key, newest first.",
    )

    @staticmethod
    @requires(STAFF)
    def resolve_api_keys(_root: Any, info: GraphQLResolveInfo) -> list[ApiKeyRow]:
        with context_of(info).reading() as session:
            return list_api_keys(session)


class PartnerMutations(graphene.ObjectType):
    create_api_key = CreateApiKey.Field(required=True, description=CreateApiKey.__doc__)
    revoke_api_key = RevokeApiKey.Field(required=True, description=RevokeApiKey.__doc__)
