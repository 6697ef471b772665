"""What a resolver's caller asked for beneath it, to fetch only what is needed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
)


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
