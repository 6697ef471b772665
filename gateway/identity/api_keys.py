"""Partner API keys: created with scopes, shown once, stored as a hash, revoked at once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from gateway.identity.credentials import hash_secret, new_api_key
from gateway.identity.errors import InvalidInput, NotFound
from gateway.models import ApiKey
from services.common.utc_time import utcnow

API_SCOPES = ("CONTENT_READ", "CONVERSIONS_WRITE", "STATS_READ")
MAX_KEY_NAME_LENGTH = 100
# Recording every use would turn each partner read into a write; once a minute is enough.
LAST_USE_RESOLUTION = timedelta(seconds=60)


def create_api_key(
    session: Session, *, name: str, scopes: list[str], created_by: str | None
) -> tuple[ApiKey, str]:
    """A new key and its secret; the secret is not stored and cannot be shown again."""
    clean_name = " ".join(name.split())
    if not clean_name or len(clean_name) > MAX_KEY_NAME_LENGTH:
        raise InvalidInput(f"Name the key in 1 to {MAX_KEY_NAME_LENGTH} characters.", field="name")
    unknown = sorted(set(scopes) - set(API_SCOPES))
    if unknown or not scopes:
        raise InvalidInput(
            f"Choose one or more scopes among {', '.join(API_SCOPES)}.", field="scopes"
        )
    secret, prefix = new_api_key()
    key = ApiKey(
        id=uuid.uuid4().hex,
        name=clean_name,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        scopes=sorted(set(scopes), key=API_SCOPES.index),
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(key)
    session.flush()
    return key, secret


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id)))


def revoke_api_key(session: Session, *, key_id: str) -> ApiKey:
    """Revoke a key (again is harmless); :class:`NotFound` for an unknown id."""
    session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    key = session.get(ApiKey, key_id, populate_existing=True)
    if key is None:
        raise NotFound("No API key has this id.", field="id")
    return key


def find_live_api_key(session: Session, secret: str) -> ApiKey | None:
    """The live key behind ``secret``; None if unknown or revoked. Only reads, so the
    caller may look it up without SQLite's write lock."""
    key = session.scalar(select(ApiKey).where(ApiKey.secret_hash == hash_secret(secret)))
    if key is None or key.revoked_at is not None:
        return None
    return key


def use_needs_recording(key: ApiKey, now: datetime) -> bool:
    """Whether ``last_used_at`` is older than its resolution: most calls need no write."""
    return key.last_used_at is None or key.last_used_at < now - LAST_USE_RESOLUTION


def record_api_key_use(session: Session, key_id: str, now: datetime) -> None:
    """Set ``last_used_at`` unless a concurrent call already did within the resolution."""
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USE_RESOLUTION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
