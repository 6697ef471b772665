"""updatePreferences: display name and thank-you channel, also sent to rewards."""

from __future__ import annotations

from typing import Any

from gateway.account.auth_flow import sync_fan_profile
from gateway.account.payloads import UpdatePreferencesInput, UpdatePreferencesPayload
from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import SIGNED_IN_USER
from gateway.identity.token_cache import identity_changed
from gateway.identity.users import update_preferences


class UpdatePreferences(BaseMutation):
    """Change the signed-in user's display name or thank-you channel."""

    permissions = (SIGNED_IN_USER,)

    class Arguments:
        input = UpdatePreferencesInput(required=True, description="What to change.")

    Output = UpdatePreferencesPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> UpdatePreferencesPayload:
        data = arguments["input"]
        assert context.caller.user_id is not None
        channel = data.thank_you_channel
        with context.transaction() as session:
            user = update_preferences(
                session,
                user_id=context.caller.user_id,
                display_name=data.display_name,
                thank_you_channel=getattr(channel, "value", channel),
            )
        # The display name a remembered token owner carries is now out of date.
        identity_changed(context.redis)
        sync_fan_profile(context, user)
        return UpdatePreferencesPayload(user=user, errors=[])
