"""Who may resolve what, declared on each field and mutation, checked here only.

A resolver declares ``@requires(STAFF)``; a mutation declares
``permissions = (FAN,)``. Both end in :func:`enforce`. A field declared with
``otherwise_null=True`` shows null to callers who may not see it (a fan's
email to other fans) instead of failing the whole query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import GraphQLResolveInfo

from gateway.core.context import Caller, GraphQLContext, context_of
from gateway.core.errors import Forbidden, Unauthenticated

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Permission:
    """A rule about the caller and, for fields, the object the field belongs to."""

    name: str
    check: Callable[[Caller, Any], bool]
    # Whether the answer depends on the object (an owner check) or on the caller only.
    uses_root: bool = False

    def __call__(self, caller: Caller, root: Any = None) -> bool:
        return self.check(caller, root)


ANYONE = Permission("anyone", lambda caller, root: True)
SIGNED_IN_USER = Permission("signed-in user", lambda caller, root: caller.is_user)
FAN = Permission("fan", lambda caller, root: caller.is_fan)
STAFF = Permission("marketer or admin", lambda caller, root: caller.is_staff)
ADMIN = Permission("admin", lambda caller, root: caller.role == "admin")


def partner_with(scope: str) -> Permission:
    return Permission(f"partner key with {scope}", lambda caller, root: caller.has_scope(scope))


def owner(owner_id_of: Callable[[Any], str | None]) -> Permission:
    """The user the object belongs to (a fan's own link, reward or email)."""
    return Permission(
        "owner",
        lambda caller, root: caller.user_id is not None and caller.user_id == owner_id_of(root),
        uses_root=True,
    )


CONTENT_READ = partner_with("CONTENT_READ")
CONVERSIONS_WRITE = partner_with("CONVERSIONS_WRITE")
STATS_READ = partner_with("STATS_READ")


def allowed(caller: Caller, permissions: tuple[Permission, ...], root: Any = None) -> bool:
    return any(permission(caller, root) for permission in permissions)


def enforce(
    caller: Caller, permissions: tuple[Permission, ...], what: str, root: Any = None
) -> None:
    """Pass, or raise UNAUTHENTICATED (nobody signed in) or FORBIDDEN (someone is)."""
    if allowed(caller, permissions, root):
        return
    needed = " or ".join(permission.name for permission in permissions)
    if caller.role == "anonymous":
        raise Unauthenticated(f"Sign in to use {what}; it needs a {needed}.")
    raise Forbidden(f"{what} needs a {needed}.")


def requires(*permissions: Permission, otherwise_null: bool = False) -> Callable[[F], F]:
    """Declare who may resolve a field; others get an error, or null if ``otherwise_null``."""

    # Rules about the caller alone are decided once per request, not once per object
    # (a page of 50 packs asks the same of every pack).
    per_request = not any(permission.uses_root for permission in permissions)
    decision_key = id(permissions)  # the tuple lives as long as the resolver

    def decorate(resolver: F) -> F:
        @functools.wraps(resolver)
        def guarded(root: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
            context = context_of(info)
            caller = context.caller
            if per_request:
                permitted = _decided(context, permissions, decision_key)
            else:
                permitted = allowed(caller, permissions, root)
            if not permitted:
                if otherwise_null:
                    return None
                enforce(caller, permissions, f"{info.parent_type.name}.{info.field_name}", root)
            return resolver(root, info, **kwargs)

        guarded.permissions = permissions  # type: ignore[attr-defined]
        guarded.decision_key = decision_key if per_request else None  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def may_resolve(context: GraphQLContext, resolver: Callable[..., Any]) -> bool:
    """Whether the caller may resolve a field declared with ``@requires`` on ``resolver``,
    decided as the field itself decides it (and shared with it, once per request).

    Only for rules about the caller alone; rules about an object need the object
    (and an undeclared resolver is not known to be allowed): False.
    """
    permissions = getattr(resolver, "permissions", None)
    decision_key = getattr(resolver, "decision_key", None)
    if permissions is None or decision_key is None:
        return False
    return _decided(context, permissions, decision_key)


def _decided(
    context: GraphQLContext, permissions: tuple[Permission, ...], decision_key: int
) -> bool:
    decisions = context.permission_decisions
    permitted = decisions.get(decision_key)
    if permitted is None:
        permitted = decisions[decision_key] = allowed(context.caller, permissions)
    return permitted
