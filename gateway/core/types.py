# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""GraphQL types every domain shares: scalars, Node, PageInfo, UserError."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import graphene
from graphql import GraphQLError, GraphQLResolveInfo, StringValueNode

from gateway.core.ids import global_id


class Upload(graphene.Scalar):
    """A file sent with the GraphQL multipart request spec (one per request)."""

    @staticmethod
    def serialize(value: Any) -> Any:
        raise TypeError("Upload is an input-only scalar.")

    @staticmethod
    def parse_literal(node: Any, _variables: Any = None) -> Any:
        # A GraphQLError is reported as a validation error with its own message; any
        # other exception would be masked as INTERNAL.
        raise GraphQLError(
            "Send the file as a part of a multipart request (the GraphQL multipart request"
            " spec) and pass it as a variable; it cannot be written in the query text."
        )

    @staticmethod
    def parse_value(value: Any) -> Any:
        return value


# The GraphQL type of each class of rows the gateway reads from its own database (a
# User row is a User); the services' records are dicts tagged with "__typename".
_ROW_TYPES: dict[type, type[graphene.ObjectType]] = {}


def register_node_rows(row_class: type, node_type: type[graphene.ObjectType]) -> None:
    """Let `node(id:)` return ``row_class`` instances as the Node type ``node_type``."""
    _ROW_TYPES[row_class] = node_type


class Node(graphene.Interface):
    """An object with a global id, fetchable again with `node(id:)`."""

    id = graphene.ID(required=True, description="Opaque global id of the object.")

    @classmethod
    def resolve_type(cls, instance: Any, info: GraphQLResolveInfo) -> Any:
        # graphene takes an ObjectType class; anything else (a name included) sends it to
        # graphql-core's default, which reads a dict's "__typename".
        if isinstance(instance, dict):
            return instance.get("__typename")
        return _ROW_TYPES.get(type(instance))


def node_id_resolver(type_name: str) -> Any:
    """Resolver of a Node's `id`: the global id of the record's own id."""

    def resolve_id(root: Any, _info: GraphQLResolveInfo) -> str:
        raw = root["id"] if isinstance(root, dict) else root.id
        return global_id(type_name, str(raw))

    return resolve_id


class PageInfo(graphene.ObjectType):
    """Where a page of a connection sits in the whole list."""

    has_next_page = graphene.Boolean(required=True, description="More items follow this page.")
    has_previous_page = graphene.Boolean(
        required=True, description="Items come before this page (always false: pages go forward)."
    )
    start_cursor = graphene.String(description="Cursor of the first item of the page.")
    end_cursor = graphene.String(description="Pass as `after` to get the next page.")


class UserError(graphene.ObjectType):
    """An expected failure of a mutation: bad input, not found, out of stock, duplicate."""

    field = graphene.List(
        graphene.NonNull(graphene.String),
        description='Path of the input field at fault, if any, e.g. ["input", "title"].',
    )
    message = graphene.String(required=True, description="What went wrong and how to fix it.")
    code = graphene.String(
        required=True,
        description=(
            "Stable code, e.g. INVALID, NOT_FOUND, DUPLICATE, OUT_OF_STOCK, "
            "INSUFFICIENT_POINTS, IMAGE_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE."
        ),
    )


class DateTime(graphene.Scalar):
    """An instant in ISO 8601 with its offset, e.g. 2026-11-22T19:30:15+00:00."""

    @staticmethod
    def serialize(value: Any) -> str:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                # Every time stamp is read aware (services.common.utc_time): a naive one
                # here is a bug upstream, and which instant it means a guess.
                raise TypeError(f"DateTime cannot represent the naive {value!r}.")
            return value.astimezone(UTC).isoformat()
        if isinstance(value, str):
            # The services already speak ISO 8601; pass their text through.
            return value
        raise TypeError(f"DateTime cannot represent {value!r}.")

    @staticmethod
    def parse_value(value: Any) -> datetime:
        if not isinstance(value, str):
            raise GraphQLError("A DateTime is a string in ISO 8601, e.g. 2026-11-22T19:30:15Z.")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise GraphQLError(
                f"{value!r} is not an ISO 8601 instant, e.g. 2026-11-22T19:30:15Z."
            ) from exc
        if moment.tzinfo is None:
            raise GraphQLError("Give the DateTime an offset, e.g. 2026-11-22T19:30:15Z.")
        return moment

    @classmethod
    def parse_literal(cls, node: Any, _variables: Any = None) -> datetime:
        if not isinstance(node, StringValueNode):
            raise GraphQLError("A DateTime is a string in ISO 8601, e.g. 2026-11-22T19:30:15Z.")
        return cls.parse_value(node.value)
