"""The live rules, cached per worker process and reloaded when a marketer changes one.

Invalidation is a version counter, not a time to live: every change to a rule
bumps ``rules_version`` in its own transaction, and issuance reads the version
in the statement it needs anyway (the fan's account), so a paused rule stops
giving from the next event on, with no extra round trip per event.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common.sql import insert_ignoring_conflicts
from services.rewards.models import rules, rules_version

VERSION_ROW = 1


def rules_version_query() -> Any:
    """The current version, as a scalar subquery to fold into another SELECT."""
    return (
        select(rules_version.c.version).where(rules_version.c.id == VERSION_ROW).scalar_subquery()
    )


def bump_rules_version(session: Session) -> None:
    """Tell every worker's cache that the rules changed (in the caller's transaction)."""
    session.execute(
        insert_ignoring_conflicts(session, rules_version).values(id=VERSION_ROW, version=0)
    )
    session.execute(
        update(rules_version)
        .where(rules_version.c.id == VERSION_ROW)
        .values(version=rules_version.c.version + 1)
    )


class RuleCache:
    """The unpaused rules by trigger, as of one version of the rules."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._by_trigger: dict[str, list[dict[str, Any]]] = {}

    def live_rules(
        self, session: Session, trigger: str, version: int | None
    ) -> list[dict[str, Any]]:
        """The unpaused rules of ``trigger``, oldest first, as of ``version`` or later.

        A version read before a concurrent change may label rules loaded after
        it; the next event then sees a newer version and reloads. ``None`` (no
        version row) disables the cache.
        """
        with self._lock:
            if version is not None and version == self._version:
                return self._by_trigger.get(trigger, [])
        loaded: dict[str, list[dict[str, Any]]] = {}
        for row in session.execute(
            select(rules).where(rules.c.paused.is_(False)).order_by(rules.c.id)
        ).mappings():
            loaded.setdefault(str(row["trigger"]), []).append(dict(row))
        with self._lock:
            self._version, self._by_trigger = version, loaded
        return loaded.get(trigger, [])
