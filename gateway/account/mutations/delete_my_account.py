"""deleteMyAccount: erase the fan's personal data in every service, keep anonymous counts."""

from __future__ import annotations

from typing import Any

from gateway.account.payloads import DeleteAccountPayload
from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import FAN
from gateway.identity.token_cache import identity_changed
from gateway.identity.users import erase_user

ERASING_SERVICES = ("content", "referrals", "rewards")


class DeleteMyAccount(BaseMutation):
    """Erase the fan's personal data in every service; keeps only anonymous counts."""

    permissions = (FAN,)

    Output = DeleteAccountPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> DeleteAccountPayload:
        fan_id = context.caller.user_id
        assert fan_id is not None
        # The services first: if one is down the fan can try again while still
        # signed in; erasure is idempotent in every service. Any failure is
        # raised (SERVICE_UNAVAILABLE) before the gateway forgets the fan.
        for service in ERASING_SERVICES:
            context.backend(service).call("DELETE", f"/v1/fans/{fan_id}", context.principal)
        with context.transaction() as session:
            erase_user(session, user_id=fan_id)
        identity_changed(context.redis)
        if context.caller.via_cookie:
            context.response_actions["clear_session"] = True
        return DeleteAccountPayload(ok=True, errors=[])
