# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""Partner API keys as GraphQL shows them (never the secret)."""

from __future__ import annotations

import graphene
from graphql import GraphQLResolveInfo

from gateway.core.types import DateTime, Node, node_id_resolver
from gateway.models import ApiKey as ApiKeyRow


class ApiScope(graphene.Enum):
    """What a partner key may do."""

    CONTENT_READ = "CONTENT_READ"
    CONVERSIONS_WRITE = "CONVERSIONS_WRITE"
    STATS_READ = "STATS_READ"

    @property
    def description(self) -> str:
        return {
            "CONTENT_READ": "Read published packs.",
            "CONVERSIONS_WRITE": "Record and reverse conversions.",
            "STATS_READ": "Read pack and link statistics.",
        }[self.name]


class ApiKey(graphene.ObjectType):
    """A partner site's key; the secret is shown once, when it is created."""

    class Meta:
        interfaces = (Node,)

    id = graphene.ID(required=True, description="Opaque global id of the key.")
    name = graphene.String(required=True, description="What the key is for.")
    scopes = graphene.List(
        graphene.NonNull(ApiScope), required=True, description="What the key may do."
    )
    prefix = graphene.String(
        required=True,
        description=(
            "First characters of the secret, to recognise it; the secret itself is shown once."
        ),
    )
    created_at = DateTime(required=True, description="When the key was created.")
    last_used_at = DateTime(description="When the key was last used (to the minute).")
    revoked_at = DateTime(description="When the key was revoked; it works no more.")

    resolve_id = staticmethod(node_id_resolver("ApiKey"))

    @staticmethod
    def resolve_scopes(root: ApiKeyRow, _info: GraphQLResolveInfo) -> list[str]:
        return list(root.scopes)
