"""The words of a thank-you: private (may carry a code) and public (never does)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

DEED_WORDS = {
    "referrals.share_recorded": "sharing {pack}",
    "referrals.human_click": "bringing people to {pack}",
    "referrals.conversion_approved": "a purchase made through your link to {pack}",
    "rewards.tier_changed": "reaching a new tier",
}


def describe_deed(reward: Mapping[str, Any]) -> str:
    pack = f"“{reward['pack_title']}”" if reward.get("pack_title") else "a pack"
    return DEED_WORDS.get(str(reward["event_type"]), "your support").format(pack=pack)


def private_line(reward: Mapping[str, Any]) -> str:
    """One line for the fan alone: codes included."""
    kind = reward["kind"]
    deed = describe_deed(reward)
    if kind == "POINTS":
        return f"You earned {reward['points']} points for {deed}."
    if kind == "BADGE":
        return f"You earned the “{reward['badge_code']}” badge for {deed}."
    if kind == "DISCOUNT_CODE":
        if reward.get("code"):
            return f"Your discount code for {deed}: {reward['code']}"
        return f"A discount code for {deed} is on its way."
    if kind == "GIFT_CARD":
        amount = f"{int(reward['amount_cents'] or 0) / 100:.2f} {reward['currency']}"
        return f"A gift card of {amount} for {deed} is on its way."
    return str(reward.get("note") or f"Thank you for {deed}.")


def public_line(reward: Mapping[str, Any], display_name: str) -> str:
    """What the thank-you wall shows: a name and a deed, never a code or an amount."""
    deed = describe_deed(reward).replace("your link", "their link")
    return f"Thank you, {display_name}, for {deed}!"[:500]


def render_note(template: str, values: Mapping[str, object]) -> str:
    """A marketer's note template with ``$display_name``, ``$pack_title``, ``$tier``...

    ``string.Template`` rather than ``str.format``: a template can name values,
    never reach into attributes, and unknown names are left as written.
    """
    return string.Template(template).safe_substitute({k: str(v) for k, v in values.items()})


def email_text(display_name: str | None, lines: list[str]) -> str:
    greeting = f"Hi {display_name}," if display_name else "Hi,"
    body = "\n".join(f"- {line}" for line in lines) if len(lines) > 1 else lines[0]
    return f"{greeting}\n\n{body}\n\nThank you for spreading the word.\n"
