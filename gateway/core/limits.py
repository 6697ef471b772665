"""Protections on the parsed query, before anything runs.

Depth, aliases and introspection use are properties of the document and are
worked out once per distinct document (then cached with it). Cost and page
sizes depend on variables, so they are worked out per request, cheaply, from
the same cached document: every field costs 1, times the size of every list
around it (``first``, or a default for lists without one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from gateway.core.errors import BadUserInput, QueryTooComplex

PAGE_ARGUMENTS = ("first", "last")
# Lists with no page argument (a pack's assets, its captions) are small by
# construction; count them as this many items.
DEFAULT_LIST_SIZE = 10


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int
    max_aliases: int
    max_cost: int
    max_page_size: int


@dataclass
class DocumentFacts:
    """What is known about a document without variables."""

    depth: int
    aliases: int
    uses_introspection: bool
    operations: dict[str | None, str]
    cost_cache: dict[tuple[Any, ...], int] = field(default_factory=dict)
    # The executor's per-field lookups (gateway.core.execution), reused by every request.
    execution_cache: dict[Any, Any] = field(default_factory=dict)


def analyse_document(document: DocumentNode) -> DocumentFacts:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = {
        (d.name.value if d.name else None): d.operation.value
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }
    walker = _StaticWalker(fragments)
    depth = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            depth = max(depth, walker.depth(definition.selection_set, frozenset()))
    # Aliases are counted over the whole document, fragments included, once each.
    aliases = _count_aliases(document)
    return DocumentFacts(
        depth=depth,
        aliases=aliases,
        uses_introspection=walker.introspection,
        operations=operations,
    )


def check_static_limits(facts: DocumentFacts, limits: QueryLimits) -> None:
    if facts.depth > limits.max_depth:
        raise QueryTooComplex(
            f"The query is {facts.depth} levels deep; the limit is {limits.max_depth}.",
            depth=facts.depth,
            limit=limits.max_depth,
        )
    if facts.aliases > limits.max_aliases:
        raise QueryTooComplex(
            f"The query uses {facts.aliases} aliases; the limit is {limits.max_aliases}.",
            aliases=facts.aliases,
            limit=limits.max_aliases,
        )


def _count_aliases(node: Any) -> int:
    count = 0
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, FieldNode) and current.alias is not None:
            count += 1
        for key in current.keys:
            value = getattr(current, key, None)
            if isinstance(value, tuple | list):
                stack.extend(item for item in value if hasattr(item, "keys"))
            elif hasattr(value, "keys") and not isinstance(value, str):
                stack.append(value)
    return count


class _StaticWalker:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.introspection = False

    def depth(self, selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in ("__schema", "__type"):
                    self.introspection = True
                deepest = max(deepest, 1 + self.depth(selection.selection_set, seen))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                # A fragment cycle is reported by validation; do not loop on it here.
                if fragment is not None and name not in seen:
                    deepest = max(deepest, self.depth(fragment.selection_set, seen | {name}))
        return deepest


def page_size(node: FieldNode, variables: Mapping[str, Any], limits: QueryLimits) -> int | None:
    """The ``first``/``last`` asked for on a field, checked against the page limit."""
    for argument in node.arguments:
        if argument.name.value not in PAGE_ARGUMENTS:
            continue
        value_node = argument.value
        if isinstance(value_node, VariableNode):
            value = variables.get(value_node.name.value)
        elif isinstance(value_node, IntValueNode):
            value = int(value_node.value)
        else:
            value = None
        if value is None:
            return None
        # A variable is checked here before graphql-core coerces it: "10", 10.0 or true
        # are refused with the same message, which says what a page size is.
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < 0
            or value > limits.max_page_size
        ):
            raise BadUserInput(
                f"'{argument.name.value}' on '{node.name.value}' must be a whole number "
                f"between 0 and {limits.max_page_size}.",
                argument=argument.name.value,
                limit=limits.max_page_size,
            )
        return value
    return None


def query_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
    limits: QueryLimits,
) -> int:
    """The operation's cost; checks every page size on the way."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return _CostWalker(schema, document, variables, limits).cost(
        root, operation.selection_set, frozenset()
    )


class _CostWalker:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any],
        limits: QueryLimits,
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.limits = limits
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }

    def cost(
        self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None, seen: frozenset[str]
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field_cost(parent, selection, seen)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    target = self.schema.get_type(selection.type_condition.name.value) or parent
                total += self.cost(target, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                total += self.cost(target, fragment.selection_set, seen | {name})
        return total

    def field_cost(self, parent: GraphQLNamedType, node: FieldNode, seen: frozenset[str]) -> int:
        field_def = _field(parent, node.name.value)
        size = page_size(node, self.variables, self.limits)
        if field_def is None:
            return 1
        multiplier = 1
        # A connection's edges are already counted by its page size.
        if _is_list(field_def) and not parent.name.endswith("Connection"):
            multiplier = size if size is not None else DEFAULT_LIST_SIZE
        named = get_named_type(field_def.type)
        if named.name.endswith("Connection"):
            multiplier = size if size is not None else self.limits.max_page_size
        return 1 + multiplier * self.cost(named, node.selection_set, seen)


def check_cost(cost: int, limits: QueryLimits) -> None:
    if cost > limits.max_cost:
        raise QueryTooComplex(
            f"The query would cost {cost}; the limit is {limits.max_cost}. "
            "Ask for fewer items per page or fewer fields.",
            cost=cost,
            limit=limits.max_cost,
        )


def _field(parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


def _is_list(field_def: GraphQLField) -> bool:
    field_type = field_def.type
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)
