"""logOut: the token (or cookie session) of this request stops working at once."""

from __future__ import annotations

from typing import Any

from gateway.account.payloads import LogOutPayload
from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import SIGNED_IN_USER
from gateway.identity.token_cache import identity_changed
from gateway.identity.users import revoke_token


class LogOut(BaseMutation):
    """Revoke the bearer token or cookie session this request was made with."""

    permissions = (SIGNED_IN_USER,)

    Output = LogOutPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> LogOutPayload:
        token = context.caller.token
        if token is not None:
            with context.transaction() as session:
                revoke_token(session, token)
            identity_changed(context.redis)
        if context.caller.via_cookie:
            context.response_actions["clear_session"] = True
        return LogOutPayload(ok=True, errors=[])
