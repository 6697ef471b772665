"""graphql-core's executor, taught to wait for loader futures and to batch them in waves.

Resolvers may return a :class:`~gateway.core.futures.Future`. Fields, lists
and objects whose values are still pending become futures themselves; once
the first pass is over, the request's loaders are dispatched wave after wave
(see :mod:`gateway.core.loaders`) until the result is complete. Errors follow
the GraphQL rules exactly as in synchronous execution: an error on a nullable
field nulls it and is reported on its path; on a non-null field it travels to
the nearest nullable parent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from graphql import (
    ExecutionContext,
    FieldNode,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    located_error,
)
from graphql.execution.execute import get_field_def
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable

from gateway.core.context import GraphQLContext
from gateway.core.errors import BadUserInput
from gateway.core.futures import Future, then
from gateway.core.resolvers import DefaultFieldResolver


class WaveExecutionContext(ExecutionContext):
    """Runs the operation, then dispatches queued loaders wave after wave until done."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> list[GraphQLError] | ExecutionContext:
        built = super().build(*args, **kwargs)
        if isinstance(built, ExecutionContext):
            return built
        # Variables that do not fit their declared types (the only errors that stop an
        # operation here: the engine has found the operation already) are the caller's to
        # fix; graphql-core's message names the variable and the type it wanted.
        return [
            GraphQLError(error.message, error.nodes, original_error=BadUserInput(error.message))
            for error in built
        ]

    def execute_operation(self, operation: OperationDefinitionNode, root_value: Any) -> Any:
        result = super().execute_operation(operation, root_value)
        context: GraphQLContext = self.context_value
        while isinstance(result, Future) and not result.done():
            if not context.loaders.run_wave():
                raise RuntimeError("GraphQL execution waits for data no loader will fetch.")
        if isinstance(result, Future):
            return result.result()
        return result

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> Any:
        results: dict[str, Any] = {}
        pending: list[_Pending] = []
        for response_name, field_nodes in fields.items():
            field_path = Path(path, response_name, parent_type.name)
            result = self.execute_field(parent_type, source_value, field_nodes, field_path)
            if result is Undefined:
                continue
            if isinstance(result, _Deferred):
                entry = (response_name, result.future, result.return_type, field_nodes, field_path)
                pending.append(entry)
                result = result.future
            results[response_name] = result
        if not pending:
            return results
        return self._fill_when_done(results, pending)

    # Mutations run their resolvers one after another all the same: only the
    # reads nested in their payloads are deferred.
    execute_fields_serially = execute_fields

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_nodes: list[FieldNode],
        path: Path,
    ) -> Any:
        plan = self._plan(parent_type, field_nodes[0])
        if plan is None:
            return Undefined
        field_def, resolve_fn, fast_leaf = plan
        if fast_leaf is not None:
            # Most fields of a page are plain values read from a dict: answer them
            # without building a resolve info. Anything unusual (null where null is
            # not allowed, a value the type refuses) takes the full path below,
            # which reports it as graphql-core would.
            try:
                value = fast_leaf(source, None)
                if value is None and not fast_leaf.non_null:
                    return None
                if value is not None:
                    serialized = fast_leaf.leaf_serialize(value)  # type: ignore[misc]
                    if serialized is not None and serialized is not Undefined:
                        return serialized
            except Exception:  # noqa: S110 - the full path reports it properly
                pass
        return_type = field_def.type
        if self.middleware_manager:
            resolve_fn = self.middleware_manager.get_field_resolver(resolve_fn)
        info = self.build_resolve_info(field_def, field_nodes, parent_type, path)
        try:
            # Most fields take no arguments: skip coercing none.
            args = (
                get_argument_values(field_def, field_nodes[0], self.variable_values)
                if field_def.args
                else {}
            )
            result = resolve_fn(source, info, **args)
            completed = self.complete_value(return_type, field_nodes, info, path, result)
            if isinstance(completed, Future):
                # execute_fields guards it: an error nulls the field or fails its parent.
                return _Deferred(completed, return_type)
            return completed
        except Exception as raw_error:
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, return_type, path)
            return None

    def _plan(self, parent_type: GraphQLObjectType, field_node: FieldNode) -> _FieldPlan | None:
        """The field's definition and resolver, looked up once per document and parent type.

        Kept with the cached document (``context.execution_cache``), so a repeated
        query looks nothing up again; keyed by the node's identity, which lives as
        long as the document.
        """
        cache: dict[Any, _FieldPlan | None] = self.context_value.execution_cache
        key = (parent_type, id(field_node))
        try:
            return cache[key]
        except KeyError:
            pass
        field_def = get_field_def(self.schema, parent_type, field_node)
        plan: _FieldPlan | None = None
        if field_def:
            resolve_fn = field_def.resolve or self.field_resolver
            fast_leaf = (
                resolve_fn
                if type(resolve_fn) is DefaultFieldResolver
                and resolve_fn.leaf_serialize is not None
                else None
            )
            plan = (field_def, resolve_fn, fast_leaf)
        cache[key] = plan
        return plan

    def complete_value(  # noqa: PLR0911 - one dispatch over every kind, as graphql-core's
        self,
        return_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        """graphql-core's completion, in one dispatch on the type's kind (looked up once
        per type), and waiting for futures."""
        if isinstance(result, Future):
            return then(
                result,
                lambda value: self.complete_value(return_type, field_nodes, info, path, value),
            )
        if isinstance(result, Exception):
            raise result
        kind = _KINDS.get(return_type) or _kind_of(return_type)
        if kind is _NON_NULL:
            # (cast to the bare class: subscripting a generic on every call costs.)
            inner = cast(GraphQLNonNull, return_type).of_type  # type: ignore[type-arg]
            completed = self.complete_value(inner, field_nodes, info, path, result)
            if isinstance(completed, Future):
                if _filling_fields(inner, result):
                    # An object whose fields are still being filled in: the future
                    # gives the object itself, never null; one future fewer per
                    # pack and per edge on a page, settled after the last answer.
                    return completed
                return then(completed, lambda value: _not_null(value, info))
            return _not_null(completed, info)
        if result is None or result is Undefined:
            return None
        if kind is _OBJECT:
            object_type = cast(GraphQLObjectType, return_type)
            if object_type.is_type_of is None:
                return self.execute_fields(
                    object_type, result, path, self.collect_subfields(object_type, field_nodes)
                )
            return self.complete_object_value(object_type, field_nodes, info, path, result)
        if kind is _LEAF:
            return self.complete_leaf_value(cast(GraphQLLeafType, return_type), result)
        if kind is _LIST:
            return self.complete_list_value(
                cast(GraphQLList, return_type),  # type: ignore[type-arg]
                field_nodes,
                info,
                path,
                result,
            )
        return self.complete_abstract_value(
            cast(GraphQLAbstractType, return_type), field_nodes, info, path, result
        )

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        if not is_iterable(result):
            raise GraphQLError(
                "Expected Iterable, but did not find one for field"
                f" '{info.parent_type.name}.{info.field_name}'."
            )
        item_type = return_type.of_type
        completed_items: list[Any] = []
        pending: list[_Pending] = []
        for index, item in enumerate(result):
            item_path = path.add_key(index, None)
            try:
                completed = self.complete_value(item_type, field_nodes, info, item_path, item)
                if isinstance(completed, Future):
                    pending.append((index, completed, item_type, field_nodes, item_path))
            except Exception as raw_error:
                error = located_error(raw_error, field_nodes, item_path.as_list())
                self.handle_field_error(error, item_type, item_path)
                completed = None
            completed_items.append(completed)
        if not pending:
            return completed_items
        return self._fill_when_done(completed_items, pending)

    def _fill_when_done(self, container: Any, pending: list[_Pending]) -> Future:
        """``container`` (a dict or list) once every pending entry has its value.

        Each entry is guarded as it settles: an error is located on the entry's
        path and nulls it (reported once), or, on a non-null entry, fails the
        whole container toward the nearest nullable parent.
        """
        filled = Future()
        remaining = len(pending)

        def guard(entry: _Pending) -> Callable[[Future], None]:
            key, _, return_type, field_nodes, path = entry

            def on_done(source: Future) -> None:
                nonlocal remaining
                try:
                    value = source.result()
                except Exception as raw_error:
                    error = located_error(raw_error, field_nodes, path.as_list())
                    try:
                        self.handle_field_error(error, return_type, path)
                    except Exception as propagated:
                        if not filled.done():
                            filled.set_exception(propagated)
                        return
                    value = None
                if filled.done():
                    return
                container[key] = value
                remaining -= 1
                if remaining == 0:
                    filled.set_result(container)

            return on_done

        for entry in pending:
            entry[1].add_done_callback(guard(entry))
        return filled


class _Deferred:
    """A field whose value is still on its way, with the type its guard needs."""

    __slots__ = ("future", "return_type")

    def __init__(self, future: Future, return_type: GraphQLOutputType) -> None:
        self.future = future
        self.return_type = return_type


# (key in its container, its future, its type, its field nodes, its path)
_Pending = tuple[Any, Future, GraphQLOutputType, list[FieldNode], Path]
_FieldPlan = tuple[GraphQLField, Any, DefaultFieldResolver | None]

_NON_NULL, _LIST, _LEAF, _OBJECT, _ABSTRACT = "non-null", "list", "leaf", "object", "abstract"
# The kind of every output type met so far (the schema's types live as long as the process).
_KINDS: dict[GraphQLOutputType, str] = {}


def _kind_of(return_type: GraphQLOutputType) -> str:
    if is_non_null_type(return_type):
        kind = _NON_NULL
    elif is_list_type(return_type):
        kind = _LIST
    elif is_leaf_type(return_type):
        kind = _LEAF
    elif is_object_type(return_type):
        kind = _OBJECT
    elif is_abstract_type(return_type):
        kind = _ABSTRACT
    else:  # pragma: no cover - graphql-core's own "not reachable"
        raise TypeError(f"Cannot complete value of unexpected output type: {return_type!r}.")
    _KINDS[return_type] = kind
    return kind


def _filling_fields(return_type: GraphQLOutputType, result: Any) -> bool:
    """Whether completing ``result`` as ``return_type`` went through ``execute_fields``
    (a value in hand, of an object type without ``is_type_of``), whose future is the
    object's own dict of fields and never null."""
    return (
        _KINDS.get(return_type) is _OBJECT
        and cast(GraphQLObjectType, return_type).is_type_of is None
        and result is not None
        and result is not Undefined
        and not isinstance(result, Future)
    )


def _not_null(value: Any, info: GraphQLResolveInfo) -> Any:
    if value is None:
        raise TypeError(
            f"Cannot return null for non-nullable field {info.parent_type.name}.{info.field_name}."
        )
    return value
