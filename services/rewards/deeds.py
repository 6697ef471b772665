"""What a fan did, read from the events that say so (payloads in docs/events.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.common.events import Event
from services.common.utc_time import utc_from_iso

SHARE_RECORDED = "SHARE_RECORDED"
HUMAN_CLICKS_REACHED = "HUMAN_CLICKS_REACHED"
CONVERSION_APPROVED = "CONVERSION_APPROVED"
TIER_REACHED = "TIER_REACHED"
TRIGGERS = (SHARE_RECORDED, HUMAN_CLICKS_REACHED, CONVERSION_APPROVED, TIER_REACHED)

TRIGGER_BY_EVENT_TYPE = {
    "referrals.share_recorded": SHARE_RECORDED,
    "referrals.human_click": HUMAN_CLICKS_REACHED,
    "referrals.conversion_approved": CONVERSION_APPROVED,
    "rewards.tier_changed": TIER_REACHED,
}


class MalformedEvent(ValueError):
    """The payload lacks what the catalogue promises; it will never apply."""


@dataclass(frozen=True)
class Deed:
    event_id: str
    event_type: str
    trigger: str
    fan_id: str
    occurred_at: datetime
    pack_id: str | None = None
    milestone: int | None = None
    conversion_id: str | None = None
    old_tier: str | None = None
    new_tier: str | None = None


def deed_from_event(event: Event) -> Deed:
    """The deed an event reports; :class:`MalformedEvent` when its payload is broken."""
    trigger = TRIGGER_BY_EVENT_TYPE.get(event.type)
    if trigger is None:
        raise MalformedEvent(f"{event.type} is not a deed")
    payload = event.payload
    milestone = payload.get("milestone")
    return Deed(
        event_id=event.id,
        event_type=event.type,
        trigger=trigger,
        fan_id=_required_text(payload, "fan_id", event),
        occurred_at=_parse_time(event.occurred_at),
        pack_id=_optional_text(payload.get("pack_id")),
        milestone=int(milestone) if milestone is not None else None,
        conversion_id=_optional_text(payload.get("conversion_id")),
        old_tier=_optional_text(payload.get("old_tier")),
        new_tier=_optional_text(payload.get("new_tier")),
    )


def _required_text(payload: dict[str, Any], key: str, event: Event) -> str:
    value = payload.get(key)
    if value is None or str(value).strip() == "":
        raise MalformedEvent(f"event {event.id} ({event.type}) has no {key}")
    return str(value)[:64]


def _optional_text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)[:64]


def _parse_time(text: str) -> datetime:
    """The event's time in UTC: caps count the deed's UTC day and week (cap_periods)."""
    try:
        return utc_from_iso(text)
    except ValueError:
        return datetime.now(UTC)
