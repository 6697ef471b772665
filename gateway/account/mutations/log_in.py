"""logIn: a fan, marketer or admin gets a bearer token (or the portal a cookie session)."""

from __future__ import annotations

from typing import Any

from gateway.account.auth_flow import credential_for, limit_attempts, sync_fan_profile
from gateway.account.payloads import AuthPayload, LogInInput
from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import ANYONE
from gateway.identity.users import authenticate_password


class LogIn(BaseMutation):
    """Exchange email and password for a bearer token that expires."""

    permissions = (ANYONE,)

    class Arguments:
        input = LogInInput(required=True, description="The account's credentials.")

    Output = AuthPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> AuthPayload:
        data = arguments["input"]
        limit_attempts(
            context, action="login", email=data.email, per_ip=context.settings.login_limit_per_ip
        )
        with context.transaction() as session:
            user = authenticate_password(session, email=data.email, password=data.password)
        sync_fan_profile(context, user)
        return AuthPayload(token=credential_for(context, user), user=user, errors=[])
