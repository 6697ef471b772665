"""The default resolver of every field without its own: a dict key or an attribute.

graphene gives such fields ``partial(dict_or_attr_resolver, name, default)``;
this one does the same work with fewer calls, and knows whether its field is a
plain leaf (a scalar or enum without arguments), which lets the executor skip
building a resolve info for the hundreds of such fields on a page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from graphene.types.resolver import dict_or_attr_resolver
from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLSchema, is_leaf_type


class DefaultFieldResolver:
    """``root[attname]`` for dicts, ``root.attname`` for objects, else ``default``."""

    __slots__ = ("attname", "default", "leaf_serialize", "non_null")

    def __init__(
        self,
        attname: str,
        default: Any,
        *,
        leaf_serialize: Callable[[Any], Any] | None,
        non_null: bool,
    ) -> None:
        self.attname = attname
        self.default = default
        # Set for fields whose value is a scalar or enum and that take no arguments.
        self.leaf_serialize = leaf_serialize
        self.non_null = non_null

    def __call__(self, root: Any, _info: Any, **_args: Any) -> Any:
        if isinstance(root, dict):
            return root.get(self.attname, self.default)
        return getattr(root, self.attname, self.default)


def install_default_resolvers(schema: GraphQLSchema) -> GraphQLSchema:
    """Replace graphene's default resolvers in ``schema`` by :class:`DefaultFieldResolver`."""
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for field in type_.fields.values():
            resolve = field.resolve
            if not (isinstance(resolve, partial) and resolve.func is dict_or_attr_resolver):
                continue
            attname, default = resolve.args
            non_null = isinstance(field.type, GraphQLNonNull)
            named = field.type.of_type if non_null else field.type
            plain_leaf = is_leaf_type(named) and not field.args
            field.resolve = DefaultFieldResolver(
                attname,
                default,
                leaf_serialize=named.serialize if plain_leaf else None,
                non_null=non_null,
            )
    return schema
