"""Who is calling: a partner key, a bearer token, a portal cookie session, or nobody.

Flask-free: the view hands over headers, cookies and query arguments. A
credential in the URL is refused outright (URLs end up in logs and browser
history); a cookie session must come with its CSRF token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import redis

from gateway.core.context import ANONYMOUS, Caller
from gateway.identity.api_keys import (
    find_live_api_key,
    record_api_key_use,
    use_needs_recording,
)
from gateway.identity.credentials import (
    API_KEY_PREFIX,
    TOKEN_PREFIX,
    csrf_token_for,
    hash_secret,
    same_secret,
)
from gateway.identity.rate_limits import TokenBucketLimiter
from gateway.identity.token_cache import TokenOwnerCache
from gateway.identity.users import TokenKind, TokenOwner, user_for_token
from gateway.settings import GatewaySettings
from services.common.db import Database
from services.common.internal_auth import Principal
from services.common.utc_time import utcnow

API_KEY_HEADER = "X-API-Key"
CSRF_HEADER = "X-CSRF-Token"
CREDENTIAL_PARAMETERS = frozenset(
    {"api_key", "apikey", "key", "x-api-key", "token", "access_token", "auth", "authorization"}
)


@dataclass
class AuthenticationFailed(Exception):
    """The request names a credential that does not work."""

    status: int
    code: str
    message: str
    retry_after: int | None = None
    clear_session: bool = False


@dataclass
class Authenticator:
    db: Database
    redis: redis.Redis
    settings: GatewaySettings
    owners: TokenOwnerCache = field(init=False)

    def __post_init__(self) -> None:
        self.owners = TokenOwnerCache(self.redis, ttl_seconds=self.settings.token_cache_seconds)

    @property
    def csrf_key(self) -> str:
        return "csrf:" + self.settings.internal_token_secret.get_secret_value()

    def csrf_token(self, session_token_hash: str) -> str:
        return csrf_token_for(session_token_hash, self.csrf_key)

    def authenticate(
        self,
        *,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        query_args: Mapping[str, str],
    ) -> Caller:
        refuse_credentials_in_url(query_args)
        api_key = headers.get(API_KEY_HEADER)
        if api_key:
            return self._partner(api_key.strip())
        authorization = headers.get("Authorization")
        if authorization:
            return self._bearer(authorization)
        session_token = cookies.get(self.settings.session_cookie_name)
        if session_token:
            return self._cookie_session(session_token, headers.get(CSRF_HEADER) or "")
        return ANONYMOUS

    def _partner(self, secret: str) -> Caller:
        # Read without SQLite's write lock; the use is written at most once a minute.
        with self.db.reading() as session:
            key = find_live_api_key(session, secret)
        if key is None:
            raise AuthenticationFailed(
                401, "UNAUTHENTICATED", "This API key is unknown or has been revoked."
            )
        now = utcnow()
        if use_needs_recording(key, now):
            with self.db.transaction() as session:
                record_api_key_use(session, key.id, now)
        decision = TokenBucketLimiter(
            self.redis,
            name="api-key",
            rate=self.settings.api_key_rate_per_second,
            burst=self.settings.api_key_burst,
        ).take(key.id)
        if not decision.allowed:
            raise AuthenticationFailed(
                429,
                "RATE_LIMITED",
                f"This API key is over its rate limit; retry in {decision.retry_after} seconds.",
                retry_after=decision.retry_after,
            )
        return Caller(Principal(role="partner", api_key_id=key.id, scopes=tuple(key.scopes)))

    def _bearer(self, authorization: str) -> Caller:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationFailed(
                401, "UNAUTHENTICATED", "Send the token as 'Authorization: Bearer <token>'."
            )
        owner = self._owner_of(token, "bearer")
        if owner is None:
            raise AuthenticationFailed(
                401, "UNAUTHENTICATED", "This token is unknown, expired or revoked; log in again."
            )
        user = owner.user
        return Caller(
            Principal(role=user.role, user_id=user.id),  # type: ignore[arg-type]
            token=token,
            user=user,
        )

    def _owner_of(self, token: str, kind: TokenKind) -> TokenOwner | None:
        # The generation first: an owner read from the database after it is never
        # older than it (see token_cache).
        generation = self.owners.generation()
        remembered = self.owners.get(kind, hash_secret(token), generation)
        if remembered is not None:
            return remembered
        with self.db.reading() as session:
            owner = user_for_token(session, token, kind=kind)
        if owner is not None:
            self.owners.put(kind, owner, generation)
        return owner

    def _cookie_session(self, token: str, csrf_token: str) -> Caller:
        owner = self._owner_of(token, "session")
        if owner is None:
            # Tell the portal to log in again, and drop the stale cookie.
            raise AuthenticationFailed(
                401,
                "UNAUTHENTICATED",
                "Your session has ended; log in again.",
                clear_session=True,
            )
        if not csrf_token or not same_secret(csrf_token, self.csrf_token(owner.token_hash)):
            raise AuthenticationFailed(
                403,
                "CSRF_FAILED",
                f"Send the value of the '{self.settings.csrf_cookie_name}' cookie in the "
                f"{CSRF_HEADER} header.",
            )
        user = owner.user
        return Caller(
            Principal(role=user.role, user_id=user.id),  # type: ignore[arg-type]
            token=token,
            via_cookie=True,
            user=user,
        )


def refuse_credentials_in_url(query_args: Mapping[str, str]) -> None:
    for name, value in query_args.items():
        if name.lower() in CREDENTIAL_PARAMETERS or value.startswith(
            (API_KEY_PREFIX, TOKEN_PREFIX)
        ):
            raise AuthenticationFailed(
                400,
                "CREDENTIALS_IN_URL",
                "Credentials in a URL are refused (URLs end up in logs); send an API key in "
                "the X-API-Key header and a token in the Authorization header. Consider this "
                "credential leaked and replace it.",
            )
