"""Inputs the API fuzzer (test_api_fuzz.py) found answered with a 500, each now a clear 4xx."""

from __future__ import annotations

from services.referrals.models import referral_links, shares
from tests.referrals.conftest import MARKETER, PARTNER, ReferralsHarness, fan


def test_a_link_or_share_for_a_pack_id_with_a_nul_character_is_refused_and_not_written(
    live_pack: ReferralsHarness,
) -> None:
    # given a live pack, and a fan sending a pack id with a NUL character in it
    body = b'{"pack_id": "pack-1\\u0000", "channel": "WHATSAPP"}'

    # when the fan asks for a link and records a share with it
    link = live_pack.call("POST", "/v1/links", fan(), data=body, content_type="application/json")
    share = live_pack.call("POST", "/v1/shares", fan(), data=body, content_type="application/json")

    # then both are refused naming the field, and nothing was written
    for response in (link, share):
        assert response.status_code == 422
        assert response.json is not None
        assert response.json["error"]["code"] == "INVALID_CHARACTERS"
        assert response.json["error"]["details"] == {"location": "body", "field": "pack_id"}
    assert live_pack.count(referral_links) == 0
    assert live_pack.count(shares) == 0


def test_reversing_an_order_id_with_an_unpaired_surrogate_is_refused(
    live_pack: ReferralsHarness,
) -> None:
    # given a partner reversing an order whose id holds an unpaired surrogate
    body = b'{"external_id": "order-\\ud800"}'

    # when it is sent
    response = live_pack.call(
        "POST", "/v1/conversions/reverse", PARTNER, data=body, content_type="application/json"
    )

    # then it is refused naming the field
    assert response.status_code == 422
    assert response.json is not None
    assert response.json["error"]["details"] == {"location": "body", "field": "external_id"}


def test_reviewing_a_conversion_id_past_64_bits_is_an_unknown_conversion(
    referrals: ReferralsHarness,
) -> None:
    # given a marketer, and a conversion id no BIGINT can hold
    # when the marketer reviews it
    response = referrals.call(
        "POST", f"/v1/conversions/{2**63}/review", MARKETER, json={"decision": "APPROVE"}
    )

    # then it is a 404 like any unknown conversion
    assert response.status_code == 404
    assert response.json is not None
    assert response.json["error"]["code"] == "NOT_FOUND"


def test_batch_ids_past_64_bits_or_in_other_digits_are_unknown_ids_on_both_databases(
    live_pack: ReferralsHarness,
) -> None:
    # given a fan's link, and ids no BIGINT holds ("2**64") or digits int() refuses ("²")
    link = live_pack.create_link()
    huge, superscript = str(2**64), "\u00b2"
    ids = f"{link['id']},{huge},{superscript}"

    # when batch reads name them beside the real id
    answers = [
        live_pack.call("GET", f"/v1/links?ids={ids}", fan()),
        live_pack.call("GET", f"/v1/conversions?ids={ids}", MARKETER),
        live_pack.call("GET", f"/v1/stats/links?ids={ids}", fan()),
        live_pack.call("GET", f"/v1/stats/links?ids={ids}", MARKETER),
        live_pack.call(
            "GET", f"/v1/stats/daily?scope=link&id={huge}&start=2026-01-01&end=2026-01-02", fan()
        ),
        live_pack.call(
            "GET",
            f"/v1/stats/daily?scope=link&id={superscript}&start=2026-01-01&end=2026-01-02",
            MARKETER,
        ),
    ]

    # then each answers 200, with the real link only: the others are simply not found
    assert [answer.status_code for answer in answers] == [200] * len(answers)
    assert [item["id"] for item in answers[0].json["items"]] == [link["id"]]  # type: ignore[index]
    assert answers[1].json == {"items": []}
    for stats in answers[2:4]:
        assert [item["id"] for item in stats.json["items"]] == [link["id"]]  # type: ignore[index]
    assert answers[4].json == {"items": []}
    assert answers[5].json == {"items": []}


def test_a_daily_series_ending_on_the_last_calendar_day_is_refused_naming_end(
    live_pack: ReferralsHarness,
) -> None:
    # given a link, and a daily series asked to end on 9999-12-31 (no next midnight exists)
    link = live_pack.create_link()
    path = f"/v1/stats/daily?scope=link&id={link['id']}&start=9999-12-30"

    # when it is asked for, and for the day before
    last = live_pack.call("GET", f"{path}&end=9999-12-31", MARKETER)
    before = live_pack.call(
        "GET", "/v1/stats/daily?scope=link&id=1&start=9999-12-30&end=9999-12-30", MARKETER
    )

    # then the last day is refused naming end, and the one before is answered
    assert last.status_code == 422
    assert last.json is not None
    assert list(last.json["error"]["details"]["fields"]) == ["end"]
    assert before.status_code == 200
    assert before.json is not None
    assert [item["day"] for item in before.json["items"]] == ["9999-12-30"]


def test_a_conversion_time_with_an_offset_is_kept_as_the_same_instant_on_both_databases(
    live_pack: ReferralsHarness,
) -> None:
    # given a partner reporting an order that happened at 10:00+02:00 (08:00 UTC), and one
    # whose time in UTC falls before year 1
    link = live_pack.create_link()
    with_offset = live_pack.call(
        "POST",
        "/v1/conversions",
        PARTNER,
        json={
            "external_id": "order-offset",
            "referral_code": link["code"],
            "occurred_at": "2026-01-02T10:00:00+02:00",
        },
    )
    before_year_one = live_pack.call(
        "POST",
        "/v1/conversions",
        PARTNER,
        json={"external_id": "order-old", "occurred_at": "0001-01-01T00:00:00+01:00"},
    )

    # when the conversion is read back
    assert with_offset.status_code == 201, with_offset.json
    assert with_offset.json is not None
    read = live_pack.call("GET", f"/v1/conversions?ids={with_offset.json['id']}", MARKETER)

    # then it is the same instant (SQLite kept the wall time and lost the offset), and
    # the time before year 1 is refused naming the field
    assert read.json is not None
    (conversion,) = read.json["items"]
    assert conversion["occurred_at"].startswith("2026-01-02T08:00:00")
    assert before_year_one.status_code == 422
    assert before_year_one.json is not None
    assert list(before_year_one.json["error"]["details"]["fields"]) == ["occurred_at"]
