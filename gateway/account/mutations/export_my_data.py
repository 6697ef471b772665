"""exportMyData: everything every service holds about the signed-in user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.account.payloads import ExportMyDataPayload
from gateway.core.context import GraphQLContext
from gateway.core.loaders import gather, then
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import SIGNED_IN_USER
from gateway.identity.users import export_user
from gateway.models import User

EXPORTING_SERVICES = ("content", "referrals", "rewards")


class ExportMyData(BaseMutation):
    """Return everything Fanfare holds about the signed-in user, from every service."""

    permissions = (SIGNED_IN_USER,)

    Output = ExportMyDataPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> Any:
        user_id = context.caller.user_id
        assert user_id is not None
        with context.reading() as session:
            user = session.get(User, user_id)
            assert user is not None
            gateway_part = export_user(user)

        # The three exports go out together, in one wave.
        def export_from(service: str) -> Callable[[], Any]:
            return lambda: context.backend(service).call(
                "GET", f"/v1/fans/{user_id}/export", context.principal
            )

        parts = [
            context.loaders.defer(export_from(service), name=f"{service}Export")
            for service in EXPORTING_SERVICES
        ]
        return then(
            gather(parts),
            lambda exports: ExportMyDataPayload(
                data={
                    "gateway": gateway_part,
                    **dict(zip(EXPORTING_SERVICES, exports, strict=True)),
                },
                errors=[],
            ),
        )
