"""What the rewards app holds beyond the common runtime: its adapters and contexts."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from services.rewards.catalog import RedemptionContext
from services.rewards.deliveries import MailConfig
from services.rewards.interfaces import GiftCardProvider
from services.rewards.issuance import IssuanceContext


@dataclass(frozen=True)
class RewardsExtension:
    issuance: IssuanceContext
    redemption: RedemptionContext
    mail: MailConfig
    gift_cards: GiftCardProvider


def rewards_extension() -> RewardsExtension:
    extension: RewardsExtension = current_app.extensions["rewards"]
    return extension
