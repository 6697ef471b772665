"""Conversions from partner sites: idempotent, attributed, checked for fraud, reversible."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.common.internal_auth import Principal
from services.referrals.buffer import DatabaseClickSink
from services.referrals.classify import VisitorKind
from services.referrals.clicks import Click
from services.referrals.codes import new_click_id
from services.referrals.models import conversions
from services.referrals.privacy import email_digest
from services.referrals.tasks import release_held
from tests.referrals.conftest import (
    FAN_EMAIL,
    MARKETER,
    PARTNER,
    ReferralsHarness,
    build_harness,
    close_harness,
    fan,
)


def click_id_of(harness: ReferralsHarness, code: str, **visit: Any) -> str:
    """Follow the link as a visitor and return the click id the destination received."""
    response = harness.visit(code, **visit)
    assert response.status_code == 302
    harness.drain()
    return response.headers["Location"].rsplit("ff_click=", 1)[1]


def report(
    harness: ReferralsHarness, principal: Principal = PARTNER, **body: Any
) -> tuple[int, dict[str, Any]]:
    response = harness.call("POST", "/v1/conversions", principal, json=body)
    assert response.json is not None
    return response.status_code, response.json


@pytest.fixture
def shop(live_pack: ReferralsHarness) -> ReferralsHarness:
    return live_pack


def test_a_conversion_with_a_human_click_is_approved_and_announced(
    shop: ReferralsHarness,
) -> None:
    # given a person who followed a fan's link
    link = shop.create_link()
    click_id = click_id_of(shop, link["code"])

    # when the partner reports their order with the click id
    status, conversion = report(
        shop,
        external_id="order-1",
        click_id=click_id,
        amount_cents=4200,
        currency="EUR",
        customer_ref="buyer@example.com",
    )

    # then it is attributed to the fan's link and approved at once
    assert status == 201
    assert conversion["status"] == "APPROVED"
    assert conversion["flags"] == []
    assert (conversion["fan_id"], conversion["link_id"]) == ("fan-1", link["id"])
    assert conversion["click_id"] == click_id

    # and rewards is told, once
    (event,) = shop.outbox_events("referrals.conversion_approved")
    assert event == {
        "conversion_id": conversion["id"],
        "external_id": "order-1",
        "partner_id": "key-1",
        "fan_id": "fan-1",
        "link_id": link["id"],
        "pack_id": "pack-1",
        "amount_cents": 4200,
        "currency": "EUR",
    }
    stats = shop.stats("links", link["id"])
    assert (stats["conversions"], stats["revenue"]) == (1, {"EUR": 4200})


def test_a_repeated_report_changes_nothing_and_returns_the_same_conversion(
    shop: ReferralsHarness,
) -> None:
    # given a reported conversion
    link = shop.create_link()
    click_id = click_id_of(shop, link["code"])
    _, first = report(shop, external_id="order-1", click_id=click_id)

    # when the partner sends it again, even with other numbers
    status, again = report(
        shop, external_id="order-1", click_id=click_id, amount_cents=1, currency="USD"
    )

    # then the same conversion comes back unchanged, and nothing is announced twice
    assert status == 200
    assert again == first
    assert len(shop.outbox_events("referrals.conversion_approved")) == 1

    # and another partner's order with the same id is its own conversion
    other_partner = Principal(role="partner", api_key_id="key-2", scopes=("CONVERSIONS_WRITE",))
    status, other = report(
        shop,
        other_partner,
        external_id="order-1",
        click_id=click_id,
        customer_ref="someone@else.example",
    )
    assert status == 201
    assert other["id"] != first["id"]


def test_attribution_by_code_needs_a_human_click_on_the_link(shop: ReferralsHarness) -> None:
    # given a link that a person clicked, and one nobody clicked
    clicked = shop.create_link(channel="X")
    click_id_of(shop, clicked["code"])
    unclicked = shop.create_link(channel="EMAIL")

    # when the partner reports orders with only the referral codes
    _, by_clicked_code = report(shop, external_id="o-1", referral_code=clicked["code"])
    _, by_unclicked_code = report(shop, external_id="o-2", referral_code=unclicked["code"])

    # then the clicked link's order is approved; the other is held for review
    assert by_clicked_code["status"] == "APPROVED"
    assert by_clicked_code["link_id"] == clicked["id"]
    assert by_unclicked_code["status"] == "PENDING"
    assert by_unclicked_code["flags"] == ["NO_HUMAN_CLICK"]
    assert "no human click" in by_unclicked_code["reason"]


def test_a_click_id_wins_over_the_code(shop: ReferralsHarness) -> None:
    # given two links of two fans, and a click on the second
    first = shop.create_link(fan_id="fan-1")
    second = shop.create_link(fan_id="fan-2")
    click_id = click_id_of(shop, second["code"])

    # when an order names the first link's code but the second link's click
    _, conversion = report(shop, external_id="o-1", referral_code=first["code"], click_id=click_id)

    # then the click decides
    assert conversion["fan_id"] == "fan-2"


def test_a_click_older_than_the_attribution_window_attributes_nothing(
    shop: ReferralsHarness,
) -> None:
    # given a person's click 31 days ago
    link = shop.create_link()
    old_click = Click(
        new_click_id(),
        int(link["id"]),
        "pack-1",
        VisitorKind.HUMAN,
        "visitor",
        "network",
        (datetime.now(UTC) - timedelta(days=31)).timestamp(),
    )
    DatabaseClickSink(shop.runtime.db, shop.runtime.outbox).push([old_click])

    # when an order is reported today with that click id (and the link's code)
    _, conversion = report(
        shop, external_id="o-1", click_id=old_click.click_id, referral_code=link["code"]
    )

    # then it is credited to nobody
    assert conversion["status"] == "REJECTED"
    assert conversion["flags"] == ["NOT_ATTRIBUTED"]
    assert conversion["fan_id"] is None
    assert shop.outbox_events("referrals.conversion_approved") == []


def test_a_fan_buying_through_their_own_link_is_rejected_as_self_referral(
    shop: ReferralsHarness,
) -> None:
    # given a fan who clicks their own link
    link = shop.create_link(email=FAN_EMAIL)
    click_id = click_id_of(shop, link["code"])

    # when the partner reports the fan's own order, by email or by its digest
    _, by_email = report(
        shop, external_id="o-1", click_id=click_id, customer_ref=" ada@EXAMPLE.com"
    )
    _, by_digest = report(
        shop, external_id="o-2", click_id=click_id, customer_ref=email_digest(FAN_EMAIL)
    )

    # then both are rejected with the reason kept
    for conversion in (by_email, by_digest):
        assert conversion["status"] == "REJECTED"
        assert "SELF_REFERRAL" in conversion["flags"]
        assert "the fan who owns the link" in conversion["reason"]


def test_the_same_customer_converting_twice_for_one_fan_is_rejected(
    shop: ReferralsHarness,
) -> None:
    # given a customer whose first order through a fan was approved
    link = shop.create_link()
    _, first = report(
        shop,
        external_id="o-1",
        click_id=click_id_of(shop, link["code"]),
        customer_ref="c@x.example",
    )

    # when the same customer orders again through the fan
    _, second = report(
        shop,
        external_id="o-2",
        click_id=click_id_of(shop, link["code"]),
        customer_ref="C@X.example",
    )

    # then only the first counts
    assert first["status"] == "APPROVED"
    assert second["status"] == "REJECTED"
    assert second["flags"] == ["REPEAT_CUSTOMER"]


def test_the_customer_reference_is_stored_only_as_a_digest(shop: ReferralsHarness) -> None:
    # given an order reported with the customer's email
    link = shop.create_link()
    report(
        shop,
        external_id="o-1",
        click_id=click_id_of(shop, link["code"]),
        customer_ref="c@x.example",
    )

    # when the stored row is read
    with shop.runtime.db.transaction() as session:
        row = session.execute(select(conversions)).mappings().one()

    # then the email is nowhere in it, only its digest
    assert "c@x.example" not in " ".join(str(value) for value in row.values())
    assert row["customer_hash"] == email_digest("c@x.example")


@pytest.fixture
def strict_shop(database_url: str, redis_url: str) -> Iterator[ReferralsHarness]:
    harness = build_harness(database_url, redis_url, max_conversions_per_ip_per_day=2)
    try:
        harness.publish_pack(expires_at=datetime.now(UTC) + timedelta(days=1))
        yield harness
    finally:
        close_harness(harness)


def test_too_many_conversions_from_one_network_in_a_day_are_held_for_review(
    strict_shop: ReferralsHarness,
) -> None:
    # given a program allowing 2 conversions per IP address a day, and three fans' links
    links = [strict_shop.create_link(fan_id=f"fan-{n}") for n in range(3)]

    # when three orders come from clicks made from the same address
    results = [
        report(
            strict_shop,
            external_id=f"o-{n}",
            click_id=click_id_of(strict_shop, link["code"], ip="203.0.113.50"),
            customer_ref=f"c{n}@x.example",
        )[1]
        for n, link in enumerate(links)
    ]

    # then the first two are approved and the third is held with its reason
    assert [result["status"] for result in results] == ["APPROVED", "APPROVED", "PENDING"]
    assert results[2]["flags"] == ["IP_VELOCITY"]
    assert "more than 2 conversions" in results[2]["reason"]


def test_a_conversion_behind_a_bot_click_is_held_for_review(shop: ReferralsHarness) -> None:
    # given a link fetched only by a script
    link = shop.create_link()
    click_id = click_id_of(shop, link["code"], user_agent="python-requests/2.31.0")

    # when an order is reported with the script's click id
    _, conversion = report(shop, external_id="o-1", click_id=click_id)

    # then it waits for a marketer, and rewards hears nothing yet
    assert conversion["status"] == "PENDING"
    assert conversion["flags"] == ["NO_HUMAN_CLICK"]
    assert shop.outbox_events("referrals.conversion_approved") == []

    # when a marketer approves it on review
    reviewed = shop.call(
        "POST", f"/v1/conversions/{conversion['id']}/review", MARKETER, json={"decision": "APPROVE"}
    )

    # then it is approved and announced; a second review is refused
    assert reviewed.json is not None
    assert reviewed.json["status"] == "APPROVED"
    assert len(shop.outbox_events("referrals.conversion_approved")) == 1
    again = shop.call(
        "POST", f"/v1/conversions/{conversion['id']}/review", MARKETER, json={"decision": "REJECT"}
    )
    assert again.status_code == 409
    assert again.json is not None
    assert again.json["error"]["code"] == "CONVERSION_NOT_PENDING"
    refused = shop.call(
        "POST", f"/v1/conversions/{conversion['id']}/review", fan(), json={"decision": "APPROVE"}
    )
    assert refused.status_code == 403


def test_without_the_human_click_rule_a_code_alone_is_enough(
    database_url: str, redis_url: str
) -> None:
    # given a program that does not require a human click
    harness = build_harness(database_url, redis_url, require_human_click=False)
    try:
        harness.publish_pack(expires_at=datetime.now(UTC) + timedelta(days=1))
        link = harness.create_link()

        # when an order names a code nobody clicked
        _, conversion = report(harness, external_id="o-1", referral_code=link["code"])

        # then it is approved
        assert conversion["status"] == "APPROVED"
    finally:
        close_harness(harness)


def test_clean_conversions_wait_out_the_holding_period(database_url: str, redis_url: str) -> None:
    # given a program holding conversions for 14 days
    harness = build_harness(database_url, redis_url, conversion_hold_days=14)
    try:
        harness.publish_pack(expires_at=datetime.now(UTC) + timedelta(days=1))
        link = harness.create_link()
        _, conversion = report(
            harness, external_id="o-1", click_id=click_id_of(harness, link["code"])
        )
        assert conversion["status"] == "PENDING"
        assert conversion["flags"] == []

        # when the release task runs before and after the hold
        with harness.app.app_context():
            early = release_held(harness.runtime, now=datetime.now(UTC) + timedelta(days=13))
            late = release_held(harness.runtime, now=datetime.now(UTC) + timedelta(days=15))
            again = release_held(harness.runtime, now=datetime.now(UTC) + timedelta(days=16))

        # then it is approved once the hold is over, and announced once
        assert (early, late, again) == (0, 1, 0)
        listed = harness.call("GET", f"/v1/conversions?ids={conversion['id']}", MARKETER).json
        assert listed is not None
        assert listed["items"][0]["status"] == "APPROVED"
        assert len(harness.outbox_events("referrals.conversion_approved")) == 1
    finally:
        close_harness(harness)


def test_a_refund_reverses_an_approved_conversion_once(shop: ReferralsHarness) -> None:
    # given an approved conversion
    link = shop.create_link()
    _, conversion = report(
        shop,
        external_id="o-1",
        click_id=click_id_of(shop, link["code"]),
        amount_cents=1000,
        currency="EUR",
    )

    # when the partner reverses it, twice
    first = shop.call(
        "POST", "/v1/conversions/reverse", PARTNER, json={"external_id": "o-1", "reason": "refund"}
    )
    second = shop.call("POST", "/v1/conversions/reverse", PARTNER, json={"external_id": "o-1"})

    # then it is REVERSED, rewards is told once, and it leaves the stats
    assert first.json is not None
    assert second.json is not None
    assert first.json["status"] == second.json["status"] == "REVERSED"
    assert first.json["reversal_reason"] == "refund"
    (event,) = shop.outbox_events("referrals.conversion_reversed")
    assert event["conversion_id"] == conversion["id"]
    assert event["fan_id"] == "fan-1"
    assert event["reason"] == "refund"
    stats = shop.stats("links", link["id"])
    assert (stats["conversions"], stats["revenue"]) == (0, {})

    # and reversing an order nobody reported is a clear 404
    unknown = shop.call("POST", "/v1/conversions/reverse", PARTNER, json={"external_id": "nope"})
    assert unknown.status_code == 404
    assert unknown.json is not None
    assert unknown.json["error"]["code"] == "CONVERSION_NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"external_id": "o-1"}, "referral_code"),
        ({"external_id": "o-1", "referral_code": "no!"}, "referral_code"),
        ({"external_id": "o-1", "click_id": "short"}, "click_id"),
        ({"external_id": "o-1", "referral_code": "Abcdefg1", "amount_cents": 5}, "currency"),
        (
            {
                "external_id": "o-1",
                "referral_code": "Abcdefg1",
                "amount_cents": -5,
                "currency": "EUR",
            },
            "amount_cents",
        ),
        ({"external_id": "o-1", "referral_code": "Abcdefg1", "currency": "euro"}, "currency"),
        ({"external_id": "", "referral_code": "Abcdefg1"}, "external_id"),
        (
            {
                "external_id": "o-1",
                "referral_code": "Abcdefg1",
                "occurred_at": "2026-01-01T00:00:00",
            },
            "occurred_at",
        ),
        (
            {
                "external_id": "o-1",
                "referral_code": "Abcdefg1",
                "occurred_at": "2999-01-01T00:00:00Z",
            },
            "occurred_at",
        ),
    ],
)
def test_bad_conversion_reports_name_the_field_to_fix(
    shop: ReferralsHarness, body: dict[str, Any], field: str
) -> None:
    # given a malformed report
    # when the partner sends it
    status, answer = report(shop, **body)

    # then it is refused with the field named, and nothing is stored
    assert status == 422
    assert field in answer["error"]["details"]["fields"]
    assert shop.count(conversions) == 0


def test_only_partners_with_the_conversions_scope_report_conversions(
    shop: ReferralsHarness,
) -> None:
    # given callers without the right
    reader = Principal(role="partner", api_key_id="key-9", scopes=("STATS_READ",))
    for principal in (fan(), MARKETER, reader):
        # when they report a conversion
        status, answer = report(shop, principal, external_id="o-1", referral_code="Abcdefg1")

        # then they are refused
        assert status == 403
        assert answer["error"]["code"] == "FORBIDDEN"
