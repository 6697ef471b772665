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

from collections.abc import Callable, Iterable
from typing import Any, cast

from graphql import (
    ExecutionContext,
    FieldNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    is_non_null_type,
    located_error,
)
from graphql.execution.execute import get_field_def
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable

from gateway.core.context import GraphQLContext
from gateway.core.futures import Future, then
from gateway.core.resolvers import DefaultFieldResolver


class WaveExecutionContext(ExecutionContext):
    """Runs the operation, then dispatches queued loaders wave after wave until done."""

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
        pending: list[str] = []
        for response_name, field_nodes in fields.items():
            field_path = Path(path, response_name, parent_type.name)
            result = self.execute_field(parent_type, source_value, field_nodes, field_path)
            if result is Undefined:
                continue
            results[response_name] = result
            if isinstance(result, Future):
                pending.append(response_name)
        if not pending:
            return results
        return _fill_when_done(results, pending)

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
        field_def = get_field_def(self.schema, parent_type, field_nodes[0])
        if not field_def:
            return Undefined
        resolve_fn = field_def.resolve or self.field_resolver
        if type(resolve_fn) is DefaultFieldResolver and resolve_fn.leaf_serialize is not None:
            # Most fields of a page are plain values read from a dict: answer them
            # without building a resolve info. Anything unusual (null where null is
            # not allowed, a value the type refuses) takes the full path below,
            # which reports it as graphql-core would.
            try:
                value = resolve_fn(source, None)
                if value is None and not resolve_fn.non_null:
                    return None
                if value is not None:
                    serialized = resolve_fn.leaf_serialize(value)
                    if serialized is not None and serialized is not Undefined:
                        return serialized
            except Exception:  # noqa: S110 - the full path reports it properly
                pass
        return_type = field_def.type
        if self.middleware_manager:
            resolve_fn = self.middleware_manager.get_field_resolver(resolve_fn)
        info = self.build_resolve_info(field_def, field_nodes, parent_type, path)
        try:
            args = get_argument_values(field_def, field_nodes[0], self.variable_values)
            result = resolve_fn(source, info, **args)
            completed = self.complete_value(return_type, field_nodes, info, path, result)
            if isinstance(completed, Future):
                return self._guarded(completed, return_type, field_nodes, path)
            return completed
        except Exception as raw_error:
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, return_type, path)
            return None

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> Any:
        if isinstance(result, Future):
            return then(
                result,
                lambda value: self.complete_value(return_type, field_nodes, info, path, value),
            )
        if is_non_null_type(return_type):
            inner = cast(GraphQLNonNull[Any], return_type).of_type
            completed = self.complete_value(inner, field_nodes, info, path, result)
            if isinstance(completed, Future):
                return then(completed, lambda value: _not_null(value, info))
            return _not_null(completed, info)
        return super().complete_value(return_type, field_nodes, info, path, result)

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
        pending: list[int] = []
        for index, item in enumerate(cast(Iterable[Any], result)):
            item_path = path.add_key(index, None)
            try:
                completed = self.complete_value(item_type, field_nodes, info, item_path, item)
                if isinstance(completed, Future):
                    completed = self._guarded(completed, item_type, field_nodes, item_path)
                    pending.append(index)
            except Exception as raw_error:
                error = located_error(raw_error, field_nodes, item_path.as_list())
                self.handle_field_error(error, item_type, item_path)
                completed = None
            completed_items.append(completed)
        if not pending:
            return completed_items
        return _fill_when_done(completed_items, pending)

    def _guarded(
        self,
        completed: Future,
        return_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        path: Path,
    ) -> Future:
        """The value once it arrives; an error nulls it here or fails toward the parent."""
        guarded = Future()

        def settle(source: Future) -> None:
            try:
                guarded.set_result(source.result())
            except Exception as raw_error:
                error = located_error(raw_error, field_nodes, path.as_list())
                try:
                    self.handle_field_error(error, return_type, path)
                except Exception as propagated:
                    guarded.set_exception(propagated)
                    return
                guarded.set_result(None)

        completed.add_done_callback(settle)
        return guarded


def _not_null(value: Any, info: GraphQLResolveInfo) -> Any:
    if value is None:
        raise TypeError(
            f"Cannot return null for non-nullable field {info.parent_type.name}.{info.field_name}."
        )
    return value


def _fill_when_done(container: Any, pending_keys: list[Any]) -> Future:
    """``container`` (a dict or list) once every pending entry has its value."""
    filled = Future()
    remaining = len(pending_keys)

    def fill(key: Any) -> Callable[[Future], None]:
        def on_done(source: Future) -> None:
            nonlocal remaining
            if filled.done():
                return
            try:
                container[key] = source.result()
            except Exception as exc:
                filled.set_exception(exc)
                return
            remaining -= 1
            if remaining == 0:
                filled.set_result(container)

        return on_done

    for key in pending_keys:
        container[key].add_done_callback(fill(key))
    return filled
