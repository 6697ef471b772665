"""Gift-card providers. The one shipped is manual fulfilment: a queue marketers work through."""

from __future__ import annotations

from services.rewards.interfaces import GiftCardProvider, GiftCardPurchase
from services.rewards.settings import RewardsSettings


class ManualGiftCardProvider:
    """Buys nothing: the order stays PENDING in the manual queue until a marketer fulfils it."""

    name = "manual"

    def purchase(
        self, *, idempotency_key: str, amount_cents: int, currency: str
    ) -> GiftCardPurchase:
        return GiftCardPurchase(status="PENDING", reference=f"manual:{idempotency_key}")


def build_gift_card_provider(settings: RewardsSettings) -> GiftCardProvider:
    """The provider named by ``GIFT_CARD_PROVIDER`` (only ``manual`` ships)."""
    if settings.gift_card_provider == "manual":
        return ManualGiftCardProvider()
    raise ValueError(f"unknown GIFT_CARD_PROVIDER {settings.gift_card_provider!r}")
