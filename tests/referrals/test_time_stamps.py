"""Referrals' times mean one instant on both databases: through its API and its daily counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import insert

from services.referrals.models import conversions
from tests.referrals.conftest import MARKETER, PARTNER, ReferralsHarness

PLUS_FIVE = timezone(timedelta(hours=5))


def test_a_conversion_time_round_trips_through_the_api_as_its_instant(
    live_pack: ReferralsHarness,
) -> None:
    # given a partner reporting an order that happened at 23:30:05.5-07:00 (06:30:05.5Z)
    link = live_pack.create_link()
    reported = live_pack.call(
        "POST",
        "/v1/conversions",
        PARTNER,
        json={
            "external_id": "order-late-evening",
            "referral_code": link["code"],
            "occurred_at": "2026-01-01T23:30:05.500000-07:00",
        },
    )
    assert reported.status_code == 201, reported.json
    assert reported.json is not None

    # when the conversion is read back, and the same report is sent again
    read = live_pack.call("GET", f"/v1/conversions?ids={reported.json['id']}", MARKETER)
    again = live_pack.call(
        "POST",
        "/v1/conversions",
        PARTNER,
        json={
            "external_id": "order-late-evening",
            "referral_code": link["code"],
            "occurred_at": "2026-01-01T23:30:05.500000-07:00",
        },
    )

    # then every answer gives the same instant, in UTC with its offset
    assert read.json is not None
    assert again.json is not None
    (conversion,) = read.json["items"]
    assert reported.json["occurred_at"] == "2026-01-02T06:30:05.500000+00:00"
    assert conversion["occurred_at"] == reported.json["occurred_at"]
    assert again.json["occurred_at"] == reported.json["occurred_at"]
    assert conversion["created_at"].endswith("+00:00")


def test_an_approved_conversion_counts_on_its_utc_day_whatever_its_offset(
    live_pack: ReferralsHarness,
) -> None:
    # given an approved conversion of pack-1 stored with a +05:00 offset: 01:00 on the
    # 2nd there, 20:00Z on the 1st
    with live_pack.runtime.db.transaction() as session:
        session.execute(
            insert(conversions).values(
                partner_id="key-1",
                external_id="order-1",
                pack_id="pack-1",
                amount_cents=1250,
                currency="EUR",
                status="APPROVED",
                flags=[],
                occurred_at=datetime(2026, 1, 2, 1, 0, tzinfo=PLUS_FIVE),
                created_at=datetime.now(UTC),
            )
        )

    # when the pack's daily series for the 1st and the 2nd is read
    daily = live_pack.call(
        "GET", "/v1/stats/daily?scope=pack&id=pack-1&start=2026-01-01&end=2026-01-02", MARKETER
    )

    # then the conversion counts on the 1st (its UTC day), on both databases
    assert daily.status_code == 200, daily.json
    assert daily.json is not None
    counted = {item["day"]: (item["conversions"], item["revenue"]) for item in daily.json["items"]}
    assert counted == {"2026-01-01": (1, {"EUR": 1250}), "2026-01-02": (0, {})}
