"""signUp: a fan creates an account and is signed in."""

from __future__ import annotations

from typing import Any

from gateway.account.auth_flow import credential_for, limit_attempts, sync_fan_profile
from gateway.account.payloads import AuthPayload, SignUpInput
from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import ANYONE
from gateway.identity.users import create_user


class SignUp(BaseMutation):
    """Create a fan account (email, password, display name) and sign in."""

    permissions = (ANYONE,)

    class Arguments:
        input = SignUpInput(required=True, description="The new account.")

    Output = AuthPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> AuthPayload:
        data = arguments["input"]
        limit_attempts(
            context,
            action="signup",
            email=data.email,
            per_ip=context.settings.signup_limit_per_ip,
        )
        with context.transaction() as session:
            user = create_user(
                session,
                email=data.email,
                password=data.password,
                display_name=data.display_name,
                role="fan",
            )
        sync_fan_profile(context, user)
        return AuthPayload(token=credential_for(context, user), user=user, errors=[])
