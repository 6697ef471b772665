"""Users: sign-up, log-in, bearer tokens and cookie sessions, preferences, erasure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gateway.identity.credentials import hash_secret, new_token
from gateway.identity.emails import check_email, normalise_email
from gateway.identity.errors import DuplicateEmail, InvalidCredentials, InvalidInput
from gateway.identity.passwords import (
    check_new_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from gateway.models import AuthToken, User
from services.common.utc_time import utcnow

UserRole = Literal["fan", "marketer", "admin"]
USER_ROLES: tuple[UserRole, ...] = ("fan", "marketer", "admin")
TokenKind = Literal["bearer", "session"]
THANK_YOU_CHANNELS = ("PRIVATE_EMAIL", "PUBLIC_SHOUTOUT", "HANDWRITTEN_NOTE", "NONE")
MAX_DISPLAY_NAME_LENGTH = 100
ERASED_DISPLAY_NAME = "Former fan"


def check_display_name(display_name: str) -> str:
    name = " ".join(display_name.split())
    if not name:
        raise InvalidInput("Enter a display name.", field="displayName")
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        raise InvalidInput(
            f"Choose a display name of at most {MAX_DISPLAY_NAME_LENGTH} characters.",
            field="displayName",
        )
    return name


def _insert_ignoring_conflicts(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return pg_insert(User).on_conflict_do_nothing(index_elements=["email"])
    return sqlite_insert(User).on_conflict_do_nothing(index_elements=["email"])


def create_user(
    session: Session, *, email: str, password: str, display_name: str, role: UserRole = "fan"
) -> User:
    """A new user; :class:`DuplicateEmail` when the (normalised) email is taken."""
    normal_email = check_email(email)
    check_new_password(password)
    name = check_display_name(display_name)
    if role not in USER_ROLES:
        raise InvalidInput(f"Choose a role among {', '.join(USER_ROLES)}.", field="role")
    user_id = uuid.uuid4().hex
    # One atomic insert on the unique email: two sign-ups racing for one
    # address cannot both win, and nobody reads before writing.
    inserted = session.execute(
        _insert_ignoring_conflicts(session)
        .values(
            id=user_id,
            email=normal_email,
            password_hash=hash_password(password),
            display_name=name,
            role=role,
            thank_you_channel="PRIVATE_EMAIL",
            created_at=utcnow(),
        )
        .returning(User.id)
    ).first()
    if inserted is None:
        raise DuplicateEmail("An account with this email already exists.", field="email")
    user = session.get(User, user_id)
    assert user is not None
    return user


def authenticate_password(session: Session, *, email: str, password: str) -> User:
    """The user these credentials name; :class:`InvalidCredentials` otherwise."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentials("The email or password is not right.")
    assert user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def issue_token(session: Session, *, user: User, kind: TokenKind, ttl_seconds: int) -> str:
    """A new secret for ``user``; only its hash is stored."""
    secret = new_token()
    now = utcnow()
    session.add(
        AuthToken(
            token_hash=hash_secret(secret),
            user_id=user.id,
            kind=kind,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
    )
    return secret


@dataclass(frozen=True)
class TokenOwner:
    user: User
    token_hash: str
    expires_at: datetime | None = None


def user_for_token(session: Session, secret: str, *, kind: TokenKind) -> TokenOwner | None:
    """The live user behind a token, or None if it is unknown, expired or revoked."""
    token_hash = hash_secret(secret)
    row = session.execute(
        select(AuthToken, User)
        .join(User, User.id == AuthToken.user_id)
        .where(AuthToken.token_hash == token_hash, AuthToken.kind == kind)
    ).first()
    if row is None:
        return None
    token, user = row
    if token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    if user.erased_at is not None:
        return None
    return TokenOwner(user, token_hash, token.expires_at)


def revoke_token(session: Session, secret: str) -> bool:
    """Revoke a token at once; True if it was live."""
    result = session.execute(
        update(AuthToken)
        .where(AuthToken.token_hash == hash_secret(secret), AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(AuthToken.id)
    ).first()
    return result is not None


def get_users(session: Session, user_ids: list[str]) -> dict[str, User]:
    if not user_ids:
        return {}
    users = session.scalars(select(User).where(User.id.in_(user_ids)))
    return {user.id: user for user in users}


def update_preferences(
    session: Session, *, user_id: str, display_name: str | None, thank_you_channel: str | None
) -> User:
    user = session.get(User, user_id)
    if user is None or user.erased_at is not None:
        raise InvalidInput("This account no longer exists.")
    if display_name is not None:
        user.display_name = check_display_name(display_name)
    if thank_you_channel is not None:
        if thank_you_channel not in THANK_YOU_CHANNELS:
            raise InvalidInput("Choose a known thank-you channel.", field="thankYouChannel")
        user.thank_you_channel = thank_you_channel
    return user


def export_user(user: User) -> dict[str, Any]:
    """Everything the gateway holds about a user (no secrets: hashes are not personal data)."""
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "thank_you_channel": user.thank_you_channel,
        "created_at": user.created_at.isoformat(),
    }


def erase_user(session: Session, *, user_id: str) -> None:
    """Forget the user's personal data and sign them out everywhere; keep the row for counts."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(
            email=None,
            password_hash=None,
            display_name=ERASED_DISPLAY_NAME,
            thank_you_channel="NONE",
            erased_at=utcnow(),
        )
    )
    session.execute(
        update(AuthToken)
        .where(AuthToken.user_id == user_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
