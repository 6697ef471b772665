"""The default rules a new program starts with (``fanfare rewards seed-rules``, ``seed-demo``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.rewards.models import rules
from services.rewards.rules import create_rule

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "key": "share-points",
        "name": "10 points per share (5 a day)",
        "trigger": "SHARE_RECORDED",
        "reward_kind": "POINTS",
        "points": 10,
        "cap_per_day": 5,
    },
    {
        "key": "first-share-badge",
        "name": "First share badge",
        "trigger": "SHARE_RECORDED",
        "reward_kind": "BADGE",
        "badge_code": "first-share",
        "cap_total": 1,
    },
    {
        "key": "ten-clicks-points",
        "name": "25 points when a link reaches 10 human clicks",
        "trigger": "HUMAN_CLICKS_REACHED",
        "trigger_clicks": 10,
        "reward_kind": "POINTS",
        "points": 25,
    },
    {
        "key": "ten-clicks-badge",
        "name": "10 human clicks badge",
        "trigger": "HUMAN_CLICKS_REACHED",
        "trigger_clicks": 10,
        "reward_kind": "BADGE",
        "badge_code": "ten-human-clicks",
        "cap_total": 1,
    },
    {
        "key": "hundred-clicks-badge",
        "name": "100 human clicks badge",
        "trigger": "HUMAN_CLICKS_REACHED",
        "trigger_clicks": 100,
        "reward_kind": "BADGE",
        "badge_code": "hundred-human-clicks",
        "cap_total": 1,
    },
    {
        "key": "conversion-points",
        "name": "100 points per approved conversion",
        "trigger": "CONVERSION_APPROVED",
        "reward_kind": "POINTS",
        "points": 100,
    },
    {
        "key": "first-conversion-badge",
        "name": "First conversion badge",
        "trigger": "CONVERSION_APPROVED",
        "reward_kind": "BADGE",
        "badge_code": "first-conversion",
        "cap_total": 1,
    },
    {
        "key": "insider-note",
        "name": "Welcome note for new insiders",
        "trigger": "TIER_REACHED",
        "trigger_tier": "INSIDER",
        "reward_kind": "THANK_YOU_NOTE",
        "note_template": "Welcome to the insiders, $display_name! Early access is yours.",
        "cap_total": 1,
    },
    {
        "key": "ambassador-badge",
        "name": "Ambassador badge",
        "trigger": "TIER_REACHED",
        "trigger_tier": "AMBASSADOR",
        "reward_kind": "BADGE",
        "badge_code": "ambassador",
        "cap_total": 1,
    },
)


def install_default_rules(session: Session) -> list[str]:
    """Add each default rule not yet present (by key); returns the keys added now.

    A rule a marketer changed or paused is left as it is.
    """
    existing = set(session.scalars(select(rules.c.key).where(rules.c.key.is_not(None))))
    added = []
    for rule in DEFAULT_RULES:
        if rule["key"] in existing:
            continue
        create_rule(session, data=dict(rule))
        added.append(str(rule["key"]))
    return added
