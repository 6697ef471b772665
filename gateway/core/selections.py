"""What a resolver's caller asked for beneath it, to fetch only what is needed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.execution.collect_fields import should_include_node

# Past this many selections visited, an operation is too large to look through.
_WALK_LIMIT = 2000


def selects(info: GraphQLResolveInfo, *path: str) -> bool:
    """True when the field being resolved has the sub-field at ``path`` (e.g. "edges",
    "node", "stats") in its selection.

    Looks through inline and named fragments and ignores directives: at worst a
    ``@skip``ped field is fetched for nothing. Worked out once per request for
    each field node (a page asks the same of every one of its items).
    """
    cache: dict[Any, bool] | None = getattr(info.context, "selection_cache", None)
    if cache is None:
        return _selects(info, path)
    key = (id(info.field_nodes[0]), path)
    found = cache.get(key)
    if found is None:
        found = cache[key] = _selects(info, path)
    return found


def _selects(info: GraphQLResolveInfo, path: tuple[str, ...]) -> bool:
    nodes = list(info.field_nodes)
    for name in path:
        nodes = [
            child
            for node in nodes
            if node.selection_set is not None
            for child in _fields(node.selection_set, info, set())
            if child.name.value == name
        ]
        if not nodes:
            return False
    return True


def _fields(
    selection_set: SelectionSetNode, info: GraphQLResolveInfo, seen_fragments: set[str]
) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, info, seen_fragments)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = info.fragments.get(name)
            if fragment is not None and name not in seen_fragments:
                seen_fragments.add(name)
                yield from _fields(fragment.selection_set, info, seen_fragments)


@dataclass(frozen=True)
class Occurrence:
    """One place where the operation selects a field, through any fragments."""

    # The field names from the operation's root down to the field (aliases ignored).
    names: tuple[str, ...]
    # Every field, fragment spread and inline fragment on the way, the field last.
    chain: tuple[FieldNode | FragmentSpreadNode | InlineFragmentNode, ...]

    def included(self, variable_values: dict[str, Any]) -> bool:
        """Whether execution reaches it: no ``@skip``/``@include`` on the way turns it off."""
        return all(should_include_node(variable_values, node) for node in self.chain)


def occurrences(info: GraphQLResolveInfo, name: str) -> tuple[Occurrence, ...] | None:
    """Every place the operation being run selects a field called ``name``; None when
    the operation is too large to look through. Kept with the cached document."""
    cache: dict[Any, Any] | None = getattr(info.context, "execution_cache", None)
    key = ("occurrences", id(info.operation), name)
    if cache is not None and key in cache:
        found: tuple[Occurrence, ...] | None = cache[key]
        return found
    collected: list[Occurrence] = []
    budget = [_WALK_LIMIT]

    def walk(
        selection_set: SelectionSetNode,
        names: tuple[str, ...],
        chain: tuple[FieldNode | FragmentSpreadNode | InlineFragmentNode, ...],
        visiting: frozenset[str],
    ) -> bool:
        for selection in selection_set.selections:
            budget[0] -= 1
            if budget[0] < 0:
                return False
            if isinstance(selection, FieldNode):
                field_names = (*names, selection.name.value)
                field_chain = (*chain, selection)
                if selection.name.value == name:
                    collected.append(Occurrence(field_names, field_chain))
                if selection.selection_set is not None and not walk(
                    selection.selection_set, field_names, field_chain, visiting
                ):
                    return False
            elif isinstance(selection, InlineFragmentNode):
                if not walk(selection.selection_set, names, (*chain, selection), visiting):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                fragment = info.fragments.get(selection.name.value)
                if fragment is None or fragment.name.value in visiting:
                    continue
                if not walk(
                    fragment.selection_set,
                    names,
                    (*chain, selection),
                    visiting | {fragment.name.value},
                ):
                    return False
        return True

    result = tuple(collected) if walk(info.operation.selection_set, (), (), frozenset()) else None
    if cache is not None:
        cache[key] = result
    return result


def node_selects(info: GraphQLResolveInfo, node: FieldNode, name: str) -> bool:
    """True when ``node`` has a sub-field called ``name`` (through fragments, directives
    ignored, as :func:`selects`)."""
    if node.selection_set is None:
        return False
    return any(child.name.value == name for child in _fields(node.selection_set, info, set()))
