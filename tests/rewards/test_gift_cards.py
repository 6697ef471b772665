"""Gift cards: the provider gets the reward's idempotency key, so a retry never buys twice."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from services.rewards.gift_card_providers import ManualGiftCardProvider
from services.rewards.gift_cards import purchase_gift_card
from services.rewards.interfaces import GiftCardProvider, GiftCardPurchase
from services.rewards.models import gift_card_orders
from tests.rewards.conftest import RewardsDriver, fan


@dataclass
class PaidProviderStandIn:
    """Stands in for a paid vendor (which cannot run here), behind the same protocol.

    Like such vendors it deduplicates by idempotency key: the same key returns
    the card bought the first time.
    """

    name: str = "paid-stand-in"
    calls: list[str] = field(default_factory=list)
    cards: dict[str, str] = field(default_factory=dict)

    def purchase(
        self, *, idempotency_key: str, amount_cents: int, currency: str
    ) -> GiftCardPurchase:
        self.calls.append(idempotency_key)
        card = self.cards.setdefault(idempotency_key, f"CARD-{len(self.cards) + 1}")
        return GiftCardPurchase(status="FULFILLED", reference=f"ref-{card}", card_code=card)


def gift_card_rule(driver: RewardsDriver) -> int:
    return driver.rule(
        name="card",
        trigger="CONVERSION_APPROVED",
        reward_kind="GIFT_CARD",
        gift_card_amount_cents=2500,
        gift_card_currency="EUR",
    )


def orders(driver: RewardsDriver) -> list[dict[str, object]]:
    with driver.runtime.db.transaction() as session:
        rows = session.execute(select(gift_card_orders).order_by(gift_card_orders.c.id))
        return [dict(row) for row in rows.mappings()]


def test_a_retried_purchase_passes_the_same_key_and_buys_one_card(driver: RewardsDriver) -> None:
    # given a conversion that earned a gift card
    rule_id = gift_card_rule(driver)
    event = driver.conversion("fan-1", "c1")
    [order] = orders(driver)
    provider = PaidProviderStandIn()

    # when the purchase task runs, and runs again (a retry or a redelivery)
    purchase_gift_card(driver.runtime.db, order_id=int(str(order["id"])), provider=provider)
    purchase_gift_card(driver.runtime.db, order_id=int(str(order["id"])), provider=provider)

    # then the provider was asked once, with the reward's idempotency key, and the fan sees the card
    assert provider.calls == [f"reward:{rule_id}:{event.id}"]
    assert len(provider.cards) == 1
    reward = driver.call("GET", "/v1/fans/fan-1/rewards", fan("fan-1")).json["items"][0]
    assert (reward["gift_card_status"], reward["gift_card_code"]) == ("FULFILLED", "CARD-1")


def test_a_crash_after_the_provider_call_is_absorbed_by_the_idempotency_key(
    driver: RewardsDriver,
) -> None:
    # given a provider that took the order, and a worker that died before saving the answer
    gift_card_rule(driver)
    driver.conversion("fan-1", "c1")
    [order] = orders(driver)
    provider = PaidProviderStandIn()
    provider.purchase(
        idempotency_key=str(order["idempotency_key"]), amount_cents=2500, currency="EUR"
    )

    # when the task runs again
    purchase_gift_card(driver.runtime.db, order_id=int(str(order["id"])), provider=provider)

    # then the same key was sent and the vendor returned the first card: one card bought
    assert provider.calls == [order["idempotency_key"]] * 2
    assert len(provider.cards) == 1
    assert orders(driver)[0]["card_code"] == "CARD-1"


def test_manual_fulfilment_is_a_queue_marketers_work_through(driver: RewardsDriver) -> None:
    # given the shipped manual provider and two earned gift cards
    gift_card_rule(driver)
    driver.conversion("fan-1", "c1")
    driver.conversion("fan-2", "c2")
    manual: GiftCardProvider = ManualGiftCardProvider()
    for order in orders(driver):
        purchase_gift_card(driver.runtime.db, order_id=int(str(order["id"])), provider=manual)

    # when a marketer lists the queue and fulfils the first order with a card code
    queue = driver.call("GET", "/v1/gift-card-orders?status=PENDING").json["items"]
    done = driver.call(
        "POST", f"/v1/gift-card-orders/{queue[0]['id']}/fulfil", json={"card_code": "AMZ-123"}
    )
    twice = driver.call(
        "POST", f"/v1/gift-card-orders/{queue[0]['id']}/fulfil", json={"card_code": "AMZ-999"}
    )

    # then both were waiting, one is fulfilled once, and only its owner sees the code
    assert [(o["fan_id"], o["amount_cents"], o["status"]) for o in queue] == [
        ("fan-1", 2500, "PENDING"),
        ("fan-2", 2500, "PENDING"),
    ]
    assert (done.json["status"], done.json["fulfilled_by"]) == ("FULFILLED", "marketer-1")
    assert twice.json["error"]["code"] == "ALREADY_DONE"
    assert len(driver.call("GET", "/v1/gift-card-orders").json["items"]) == 1
    mine = driver.call("GET", "/v1/fans/fan-1/rewards", fan("fan-1")).json["items"][0]
    assert mine["gift_card_code"] == "AMZ-123"
    other = driver.call("GET", "/v1/fans/fan-1/rewards").json["items"][0]
    assert other["gift_card_code"] is None


def test_a_reversed_conversion_cancels_its_unfulfilled_gift_card(driver: RewardsDriver) -> None:
    # given a gift card waiting in the manual queue
    gift_card_rule(driver)
    driver.conversion("fan-1", "c1")

    # when the conversion is refunded
    driver.reversal("fan-1", "c1")

    # then the order is cancelled and leaves the queue
    assert [o["status"] for o in orders(driver)] == ["CANCELLED"]
    assert driver.call("GET", "/v1/gift-card-orders").json["items"] == []
