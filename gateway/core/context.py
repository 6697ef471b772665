"""What every resolver can reach: the caller, the request's loaders, the backends."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis
from graphql import GraphQLResolveInfo
from sqlalchemy.orm import Session

from gateway.core.loaders import RequestLoaders
from gateway.interfaces import Backend
from services.common.db import Database
from services.common.internal_auth import Principal

if TYPE_CHECKING:
    from gateway.settings import GatewaySettings
    from gateway.uploads import UploadedFile


@dataclass(frozen=True)
class Caller:
    """Who is asking: a user (by token or cookie), a partner key, or nobody."""

    principal: Principal
    token: str | None = None
    via_cookie: bool = False
    # The user row read while authenticating, so resolvers need not read it again.
    user: Any = field(default=None, compare=False, repr=False)

    @property
    def role(self) -> str:
        return self.principal.role

    @property
    def user_id(self) -> str | None:
        return self.principal.user_id

    @property
    def is_staff(self) -> bool:
        return self.principal.role in ("marketer", "admin")

    @property
    def is_fan(self) -> bool:
        return self.principal.role == "fan"

    @property
    def is_partner(self) -> bool:
        return self.principal.role == "partner"

    @property
    def is_user(self) -> bool:
        return self.principal.user_id is not None

    def has_scope(self, scope: str) -> bool:
        return self.is_partner and scope in self.principal.scopes


ANONYMOUS = Caller(Principal(role="anonymous"))


@dataclass
class GraphQLContext:
    """One per GraphQL operation; resolvers get it as ``info.context``."""

    caller: Caller
    settings: GatewaySettings
    db: Database
    backends: Mapping[str, Backend]
    loaders: RequestLoaders
    redis: redis.Redis
    client_ip: str = ""
    # The portal asks for a cookie session (header X-Fanfare-Session: cookie)
    # instead of a bearer token it would have to keep in JavaScript.
    wants_cookie_session: bool = False
    uploads: dict[str, UploadedFile] = field(default_factory=dict)
    # What mutations want the HTTP layer to do (set or clear the session cookie).
    response_actions: dict[str, Any] = field(default_factory=dict)
    # The variables as sent, before defaults: what a partial update really changes.
    raw_variables: dict[str, Any] = field(default_factory=dict)
    # What the executor worked out about the document (field definitions and
    # resolvers per field node); the engine hands in the cached document's own.
    execution_cache: dict[Any, Any] = field(default_factory=dict)
    # What resolvers worked out about the selection, for this request only.
    selection_cache: dict[Any, Any] = field(default_factory=dict)
    # Permission decisions that depend on the caller only, for this request.
    permission_decisions: dict[Any, bool] = field(default_factory=dict)

    @property
    def principal(self) -> Principal:
        return self.caller.principal

    def backend(self, service: str) -> Backend:
        return self.backends[service]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.db.transaction() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """For resolvers that only read: no SQLite write lock taken or waited for."""
        with self.db.reading() as session:
            yield session


def context_of(info: GraphQLResolveInfo) -> GraphQLContext:
    context: GraphQLContext = info.context
    return context
