# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""The base of every mutation: permissions checked first, expected failures in the payload.

A mutation declares ``permissions`` and implements ``perform``. Permission
failures and faults go to the top-level errors; a domain error (bad input,
not found, duplicate) or a service's 4xx refusal becomes a ``UserError`` with
the service's code in the payload's ``errors``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import graphene
from graphql import GraphQLResolveInfo, ObjectValueNode, VariableNode

from gateway.core.context import GraphQLContext, context_of
from gateway.core.permissions import Permission, enforce
from gateway.core.types import UserError
from gateway.identity.errors import IdentityError
from gateway.interfaces import BackendError, BackendUnavailable

_CAMEL_BOUNDARY = re.compile(r"_([a-z])")


def camel(name: str) -> str:
    return _CAMEL_BOUNDARY.sub(lambda match: match.group(1).upper(), name)


def user_errors_from_backend(error: BackendError, *, input_name: str = "input") -> list[UserError]:
    """A service's refusal as payload errors; validation failures become one per field."""
    fields = error.details.get("fields")
    if error.code == "INVALID" and isinstance(fields, dict) and fields:
        errors = []
        for name, messages in fields.items():
            text = (
                "; ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
            )
            errors.append(
                UserError(field=[input_name, camel(str(name))], message=text, code="INVALID")
            )
        return errors
    field = error.details.get("field")
    path = [input_name, camel(str(field))] if isinstance(field, str) else None
    return [UserError(field=path, message=error.message, code=error.code)]


class BaseMutation(graphene.Mutation):
    """Subclasses set ``permissions`` and ``Output`` and implement ``perform``."""

    permissions: ClassVar[tuple[Permission, ...]]
    input_name: ClassVar[str] = "input"

    class Meta:
        abstract = True

    @classmethod
    def mutate(cls, root: Any, info: GraphQLResolveInfo, **arguments: Any) -> Any:
        context = context_of(info)
        enforce(context.caller, cls.permissions, info.field_name)
        _forget_omitted_input_fields(info, context, arguments)
        try:
            return cls.perform(context, **arguments)
        except IdentityError as error:
            path = [cls.input_name, error.field] if error.field else None
            return cls.failure([UserError(field=path, message=error.message, code=error.code)])
        except BackendUnavailable:
            raise
        except BackendError as error:
            if error.status >= 500 or error.status in (401, 403):
                raise
            return cls.failure(user_errors_from_backend(error, input_name=cls.input_name))

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def failure(cls, errors: list[UserError]) -> Any:
        output = cls._meta.output
        return output(errors=errors)


def _forget_omitted_input_fields(
    info: GraphQLResolveInfo, context: GraphQLContext, arguments: dict[str, Any]
) -> None:
    """Drop the input fields the caller did not send, so that omitted means "unchanged".

    graphene fills every field of an input object, with None (or the field's
    default) where nothing was sent; a partial update must not turn those into
    explicit nulls. What was sent is read from the query text or the raw variables.
    """
    for argument in info.field_nodes[0].arguments:
        python_name = _snake(argument.name.value)
        value = arguments.get(python_name)
        if not isinstance(value, dict):
            continue
        sent: set[str] | None = None
        if isinstance(argument.value, ObjectValueNode):
            sent = {field.name.value for field in argument.value.fields}
        elif isinstance(argument.value, VariableNode):
            raw = context.raw_variables.get(argument.value.name.value)
            sent = set(raw) if isinstance(raw, dict) else None
        if sent is None:
            continue
        for key in [key for key in value if camel(key) not in sent]:
            del value[key]


_CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(name: str) -> str:
    return _CAMEL_HUMP.sub("_", name).lower()
