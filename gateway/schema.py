# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""The whole GraphQL schema: each domain's queries and mutations, and `node`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphene
from graphql import GraphQLResolveInfo, GraphQLSchema

from gateway.account.schema import AccountMutations, AccountQueries
from gateway.account.types import User as UserType
from gateway.content import dataloaders as content_loaders
from gateway.content.schema import READERS, ContentMutations, ContentQueries
from gateway.core.context import GraphQLContext, context_of
from gateway.core.ids import decode_global_id
from gateway.core.loaders import resolved, then
from gateway.core.permissions import (
    CONVERSIONS_WRITE,
    FAN,
    SIGNED_IN_USER,
    STAFF,
    Permission,
    allowed,
    owner,
)
from gateway.core.resolvers import install_default_resolvers
from gateway.core.types import Node, Upload, register_node_rows
from gateway.models import ApiKey, User
from gateway.partners.schema import PartnerMutations, PartnerQueries
from gateway.partners.types import ApiKey as ApiKeyType
from gateway.referrals import dataloaders as referrals_loaders
from gateway.referrals.schema import ReferralMutations, ReferralQueries
from gateway.rewards import dataloaders as rewards_loaders
from gateway.rewards.schema import RewardMutations, RewardQueries

NodeFetch = Callable[[GraphQLContext, str], Any]


def _fetch_user(context: GraphQLContext, user_id: str) -> Any:
    with context.reading() as session:
        return session.get(User, user_id)


def _fetch_api_key(context: GraphQLContext, key_id: str) -> Any:
    with context.reading() as session:
        return session.get(ApiKey, key_id)


def _tagged(type_name: str, fetch: NodeFetch) -> NodeFetch:
    def fetch_tagged(context: GraphQLContext, raw_id: str) -> Any:
        return then(
            fetch(context, raw_id),
            lambda record: {**record, "__typename": type_name} if record else None,
        )

    return fetch_tagged


# Which node types `node(id:)` fetches, and who may fetch each; the services
# narrow further (a fan gets only their own links, a partner its own conversions).
NODE_TYPES: dict[str, tuple[tuple[Permission, ...], NodeFetch]] = {
    "ContentPack": (
        READERS,
        _tagged("ContentPack", lambda c, i: content_loaders.packs_by_id(c).load(i)),
    ),
    "Asset": ((STAFF,), _tagged("Asset", lambda c, i: content_loaders.assets_by_id(c).load(i))),
    "ReferralLink": (
        (SIGNED_IN_USER,),
        _tagged("ReferralLink", lambda c, i: referrals_loaders.links_by_id(c).load(i)),
    ),
    "Conversion": (
        (STAFF, CONVERSIONS_WRITE),
        _tagged("Conversion", lambda c, i: referrals_loaders.conversions_by_id(c).load(i)),
    ),
    # Rewards are found among the viewer's own only: a fan sees no one else's.
    "Reward": (
        (FAN,),
        _tagged("Reward", lambda c, i: rewards_loaders.viewer_rewards_by_id(c).load(i)),
    ),
    "CatalogItem": (
        (SIGNED_IN_USER,),
        _tagged("CatalogItem", lambda c, i: rewards_loaders.catalog_items_by_id(c).load(i)),
    ),
    "User": ((owner(lambda raw_id: raw_id), STAFF), _fetch_user),
    "ApiKey": ((STAFF,), _fetch_api_key),
}
register_node_rows(User, UserType)
register_node_rows(ApiKey, ApiKeyType)


class Query(
    ContentQueries,
    AccountQueries,
    ReferralQueries,
    RewardQueries,
    PartnerQueries,
    graphene.ObjectType,
):
    """What can be read."""

    node = graphene.Field(
        Node,
        id=graphene.ID(required=True, description="A global id from any Node."),
        description=(
            "Any object by its global id (every type implementing Node); "
            "null when unknown or not visible to the caller."
        ),
    )

    @staticmethod
    def resolve_node(_root: Any, info: GraphQLResolveInfo, id: str) -> Any:
        decoded = decode_global_id(id)
        if decoded is None or decoded[0] not in NODE_TYPES:
            return None
        type_name, raw_id = decoded
        permissions, fetch = NODE_TYPES[type_name]
        context = context_of(info)
        if not allowed(context.caller, permissions, raw_id):
            return None
        found = fetch(context, raw_id)
        return found if found is not None else resolved(None)


class Mutation(
    AccountMutations,
    ContentMutations,
    ReferralMutations,
    RewardMutations,
    PartnerMutations,
    graphene.ObjectType,
):
    """What can be changed."""


def build_schema() -> graphene.Schema:
    return graphene.Schema(query=Query, mutation=Mutation, types=[Upload])


def graphql_schema() -> GraphQLSchema:
    schema: GraphQLSchema = build_schema().graphql_schema
    return install_default_resolvers(schema)


if __name__ == "__main__":
    # Regenerate the committed schema: python -m gateway.schema > gateway/schema.graphql
    from graphql import print_schema

    print(print_schema(graphql_schema()))
