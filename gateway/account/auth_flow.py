"""What sign-up and log-in share: rate limits, issuing the credential, the fan profile."""

from __future__ import annotations

import logging
import math

from gateway.core.context import Caller, GraphQLContext
from gateway.core.errors import RateLimited
from gateway.identity.emails import normalise_email
from gateway.identity.rate_limits import FixedWindowLimiter
from gateway.identity.users import TokenKind, issue_token
from gateway.interfaces import BackendError
from gateway.models import User
from services.common.internal_auth import Principal

log = logging.getLogger(__name__)


def limit_attempts(context: GraphQLContext, *, action: str, email: str, per_ip: int) -> None:
    """Count one attempt per IP and per account; RATE_LIMITED past either limit."""
    settings = context.settings
    window = settings.auth_limit_window_seconds
    checks = [
        (
            FixedWindowLimiter(context.redis, name=f"{action}-ip", limit=per_ip, window=window),
            context.client_ip or "unknown",
        ),
        (
            FixedWindowLimiter(
                context.redis,
                name=f"{action}-account",
                limit=settings.login_limit_per_account,
                window=window,
            ),
            normalise_email(email),
        ),
    ]
    for limiter, key in checks:
        decision = limiter.hit(key)
        if not decision.allowed:
            context.response_actions["retry_after"] = decision.retry_after
            raise RateLimited(
                f"Too many attempts; try again in {wait_in_words(decision.retry_after)}.",
                retryAfter=decision.retry_after,
            )


def wait_in_words(seconds: int) -> str:
    """A wait as a person reads it: seconds under two minutes, else whole minutes rounded up."""
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"about {math.ceil(seconds / 60)} minutes"


def credential_for(context: GraphQLContext, user: User) -> str | None:
    """A bearer token to return, or (for the portal) a cookie session set by the view.

    The rest of the operation (the payload's ``user``) is resolved as the user
    who just signed in, so they see their own email and balance.
    """
    ttl = context.settings.token_ttl_seconds
    kind: TokenKind = "session" if context.wants_cookie_session else "bearer"
    with context.transaction() as session:
        secret = issue_token(session, user=user, kind=kind, ttl_seconds=ttl)
    context.caller = Caller(
        Principal(role=user.role, user_id=user.id),  # type: ignore[arg-type]
        token=secret,
        via_cookie=context.wants_cookie_session,
    )
    if context.wants_cookie_session:
        context.response_actions["set_session"] = secret
        return None
    return secret


def sync_fan_profile(context: GraphQLContext, user: User) -> None:
    """Upsert the fan's profile in rewards (email, name, thank-you channel).

    Best effort: the profile is sent again at every log-in and preference
    change, so a rewards outage delays it rather than losing it, and never
    blocks a fan from signing up.
    """
    if user.role != "fan" or user.email is None:
        return
    try:
        context.backend("rewards").call(
            "PUT",
            f"/v1/fans/{user.id}",
            Principal(role="fan", user_id=user.id),
            json={
                "email": user.email,
                "display_name": user.display_name,
                "thank_you_channel": user.thank_you_channel,
            },
        )
    except BackendError as error:
        log.warning("fan profile %s not sent to rewards: %s", user.id, error)
