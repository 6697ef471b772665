"""Who may do what, checked in one place on top of the gateway's internal token."""

from __future__ import annotations

from services.common.internal_auth import Principal, current_principal
from services.referrals.errors import NotAllowed

STAFF = frozenset({"marketer", "admin", "system"})
CONVERSIONS_WRITE = "CONVERSIONS_WRITE"
STATS_READ = "STATS_READ"


def require_fan() -> str:
    """The fan making the request (their user id)."""
    principal = current_principal()
    if principal.role != "fan" or not principal.user_id:
        raise NotAllowed("Only a signed-in fan can do this.")
    return principal.user_id


def require_partner() -> str:
    """The partner's API key id: the identity conversions are idempotent under."""
    principal = current_principal()
    if (
        principal.role != "partner"
        or not principal.api_key_id
        or CONVERSIONS_WRITE not in principal.scopes
    ):
        raise NotAllowed("This needs a partner API key with the CONVERSIONS_WRITE scope.")
    return principal.api_key_id


def require_staff() -> Principal:
    principal = current_principal()
    if principal.role not in STAFF:
        raise NotAllowed("Only marketers and admins can do this.")
    return principal


def is_staff(principal: Principal) -> bool:
    return principal.role in STAFF


def require_self_or_staff(fan_id: str) -> Principal:
    """A fan acting on their own data, or staff."""
    principal = current_principal()
    if principal.role in STAFF or (principal.role == "fan" and principal.user_id == fan_id):
        return principal
    raise NotAllowed("A fan can only see and change their own data.")


def require_signed_in() -> Principal:
    principal = current_principal()
    if principal.role == "anonymous":
        raise NotAllowed("Sign in first.")
    return principal


def is_stats_reader(principal: Principal) -> bool:
    """A partner key allowed to read aggregate statistics (links and packs, never fans)."""
    return (
        principal.role == "partner"
        and bool(principal.api_key_id)
        and STATS_READ in principal.scopes
    )
