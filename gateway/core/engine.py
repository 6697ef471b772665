"""One GraphQL operation from request parameters to a response body, without Flask.

Order matters: the document is parsed and validated (cached), its static
limits and page sizes and cost are checked, rules about the transport and the
caller (no mutation over GET, no introspection for partner keys in
production) are applied, and only then does anything execute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    get_operation_ast,
)

from gateway.core.context import GraphQLContext
from gateway.core.documents import DocumentCache
from gateway.core.errors import BadUserInput, Forbidden, GraphQLFault, format_error
from gateway.core.execution import WaveExecutionContext
from gateway.core.limits import QueryLimits, check_cost, check_static_limits, query_cost


@dataclass(frozen=True)
class OperationRequest:
    query: Any
    variables: Any = None
    operation_name: Any = None


@dataclass
class OperationResponse:
    body: dict[str, Any]
    status: int


class MethodNotAllowed(GraphQLFault):
    code = "METHOD_NOT_ALLOWED"


class GraphQLEngine:
    """Runs operations against one schema with one set of limits."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        limits: QueryLimits,
        cache_size: int,
        debug: bool,
        introspection_for_partners: bool,
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.documents = DocumentCache(schema, size=cache_size)
        self.debug = debug
        self.introspection_for_partners = introspection_for_partners

    def run(
        self, request: OperationRequest, context: GraphQLContext, *, http_method: str
    ) -> OperationResponse:
        try:
            query, variables, operation_name = self._check_parameters(request)
        except GraphQLFault as fault:
            return self._refused(fault, 400)
        prepared = self.documents.get(query)
        if prepared.errors or prepared.document is None or prepared.facts is None:
            return OperationResponse(
                {"errors": [format_error(error, debug=self.debug) for error in prepared.errors]},
                400,
            )
        document, facts = prepared.document, prepared.facts
        operation = get_operation_ast(document, operation_name)
        if operation is None:
            return self._refused(
                BadUserInput(
                    "Name the operation to run with 'operationName'; the document has several."
                    if len(facts.operations) > 1
                    else f"The document has no operation named {operation_name!r}."
                ),
                400,
            )
        try:
            check_static_limits(facts, self.limits)
            self._check_transport_and_caller(
                operation, facts.uses_introspection, context, http_method
            )
            cost = self._cost(document, operation, variables, facts, operation_name)
            check_cost(cost, self.limits)
        except MethodNotAllowed as fault:
            return self._refused(fault, 405)
        except GraphQLFault as fault:
            return self._refused(fault, 400)
        context.raw_variables = variables
        context.execution_cache = facts.execution_cache
        result = execute(
            self.schema,
            document,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            execution_context_class=WaveExecutionContext,
        )
        assert isinstance(result, ExecutionResult)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [format_error(error, debug=self.debug) for error in result.errors]
        body["data"] = result.data
        body["extensions"] = {"cost": {"requested": cost, "limit": self.limits.max_cost}}
        # Errors without a path stopped the operation before it ran (variables of the
        # wrong type): a bad request, like a document that does not validate.
        refused = result.data is None and any(error.path is None for error in result.errors or ())
        return OperationResponse(body, 400 if refused else 200)

    def _check_parameters(
        self, request: OperationRequest
    ) -> tuple[str, dict[str, Any], str | None]:
        if not isinstance(request.query, str) or not request.query.strip():
            raise BadUserInput("Send the GraphQL document as 'query', a non-empty string.")
        variables = request.variables if request.variables is not None else {}
        if not isinstance(variables, dict):
            raise BadUserInput("'variables' must be a JSON object.")
        if request.operation_name is not None and not isinstance(request.operation_name, str):
            raise BadUserInput("'operationName' must be a string.")
        return request.query, variables, request.operation_name

    def _check_transport_and_caller(
        self,
        operation: OperationDefinitionNode,
        uses_introspection: bool,
        context: GraphQLContext,
        http_method: str,
    ) -> None:
        if http_method == "GET" and operation.operation.value != "query":
            raise MethodNotAllowed(
                f"A {operation.operation.value} can only be sent with POST, never GET."
            )
        if uses_introspection and context.caller.is_partner and not self.introspection_for_partners:
            raise Forbidden("Introspection is not available to partner keys.")

    def _cost(
        self,
        document: Any,
        operation: OperationDefinitionNode,
        variables: dict[str, Any],
        facts: Any,
        operation_name: str | None,
    ) -> int:
        # Cost depends only on the document and the variables; repeat callers
        # (the portal's home page) send the same ones, so remember a few.
        if not all(_small(value) for value in variables.values()):
            return query_cost(self.schema, document, operation, variables, self.limits)
        key = (operation_name, tuple(sorted((k, repr(v)) for k, v in variables.items())))
        cached: int | None = facts.cost_cache.get(key)
        if cached is not None:
            return cached
        cost = query_cost(self.schema, document, operation, variables, self.limits)
        if len(facts.cost_cache) < 64:
            facts.cost_cache[key] = cost
        return cost

    def _refused(self, fault: GraphQLFault, status: int) -> OperationResponse:
        error = GraphQLError(fault.message, original_error=fault)
        return OperationResponse({"errors": [format_error(error, debug=self.debug)]}, status)


def _small(value: Any) -> bool:
    return isinstance(value, int | str | bool | float) or value is None
