"""Stats in batch, daily series, the leaderboard's numbers; shares; export and erasure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.common.internal_auth import Principal
from services.referrals.models import clicks, referral_links
from tests.referrals.conftest import MARKETER, PARTNER, PHONE_SAFARI, ReferralsHarness, fan


def busy_day(harness: ReferralsHarness) -> dict[str, dict[str, str]]:
    """fan-1: two links, 3 human clicks (2 visitors), 1 preview, 1 bot, 1 order; fan-2: 1 click."""
    links = {
        "a": harness.create_link(fan_id="fan-1", channel="X"),
        "b": harness.create_link(fan_id="fan-1", channel="EMAIL"),
        "c": harness.create_link(fan_id="fan-2", channel="X"),
    }
    harness.visit(links["a"]["code"], PHONE_SAFARI, ip="198.51.100.1")
    harness.visit(links["a"]["code"], PHONE_SAFARI, ip="198.51.100.1")
    harness.visit(links["a"]["code"], "Twitterbot/1.0")
    harness.visit(links["b"]["code"], "Googlebot/2.1 (+http://www.google.com/bot.html)")
    order = harness.visit(links["b"]["code"], PHONE_SAFARI, ip="198.51.100.2")
    harness.visit(links["c"]["code"], PHONE_SAFARI, ip="198.51.100.3")
    harness.drain()
    click_id = order.headers["Location"].rsplit("ff_click=", 1)[1]
    reported = harness.call(
        "POST",
        "/v1/conversions",
        PARTNER,
        json={"external_id": "o-1", "click_id": click_id, "amount_cents": 990, "currency": "EUR"},
    )
    assert reported.status_code == 201
    for channel in ("X", "X", "EMAIL"):
        shared = harness.call(
            "POST", "/v1/shares", fan("fan-1"), json={"pack_id": "pack-1", "channel": channel}
        )
        assert shared.status_code == 201
    return links


def test_stats_per_link_fan_and_pack(live_pack: ReferralsHarness) -> None:
    # given a day of clicks, previews, bots, an order and shares
    links = busy_day(live_pack)

    # when staff ask for the numbers per link, per fan and per pack
    link_a = live_pack.stats("links", links["a"]["id"])
    fan_1 = live_pack.stats("fans", "fan-1")
    pack = live_pack.stats("packs", "pack-1")

    # then each level adds up what happened
    assert (link_a["human_clicks"], link_a["unique_visitors"], link_a["preview_fetches"]) == (
        2,
        1,
        1,
    )
    assert fan_1 == {
        "id": "fan-1",
        "shares": 3,
        "human_clicks": 3,
        "unique_visitors": 2,
        "preview_fetches": 1,
        "bot_clicks": 1,
        "conversions": 1,
        "revenue": {"EUR": 990},
    }
    assert (pack["human_clicks"], pack["shares"], pack["conversions"]) == (4, 3, 1)


def test_stats_in_batch_include_idle_keys_as_zeros(live_pack: ReferralsHarness) -> None:
    busy_day(live_pack)

    # when asked for an active fan, an idle fan and a fan nobody knows
    response = live_pack.call("GET", "/v1/stats/fans?ids=fan-1,fan-2,fan-9", MARKETER)

    # then all three come back in one answer
    assert response.json is not None
    by_id = {item["id"]: item for item in response.json["items"]}
    assert by_id["fan-1"]["human_clicks"] == 3
    assert by_id["fan-2"]["human_clicks"] == 1
    assert by_id["fan-9"]["human_clicks"] == 0


def test_a_fan_sees_only_their_own_numbers(live_pack: ReferralsHarness) -> None:
    links = busy_day(live_pack)

    # when fan-1 asks for both fans' numbers and for both fans' links
    fans = live_pack.call("GET", "/v1/stats/fans?ids=fan-1,fan-2", fan("fan-1")).json
    ids = f"{links['a']['id']},{links['c']['id']}"
    own_links = live_pack.call("GET", f"/v1/stats/links?ids={ids}", fan("fan-1")).json
    packs = live_pack.call("GET", "/v1/stats/packs?ids=pack-1", fan("fan-1"))

    # then they get their own only, and pack totals are for staff
    assert fans is not None
    assert own_links is not None
    assert [item["id"] for item in fans["items"]] == ["fan-1"]
    assert [item["id"] for item in own_links["items"]] == [links["a"]["id"]]
    assert packs.status_code == 403


STATS_READER = Principal(role="partner", api_key_id="key-7", scopes=("STATS_READ",))


def test_a_stats_read_partner_reads_link_and_pack_aggregates(live_pack: ReferralsHarness) -> None:
    links = busy_day(live_pack)
    today = datetime.now(UTC).date()

    # when a partner key with STATS_READ asks for a link's, the pack's and a daily series
    link_a = live_pack.call("GET", f"/v1/stats/links?ids={links['c']['id']}", STATS_READER)
    pack = live_pack.call("GET", "/v1/stats/packs?ids=pack-1", STATS_READER)
    daily = live_pack.call(
        "GET", f"/v1/stats/daily?scope=pack&id=pack-1&start={today}&end={today}", STATS_READER
    )

    # then it gets the counts, and nothing in them names a fan
    assert link_a.status_code == pack.status_code == daily.status_code == 200
    assert link_a.json is not None
    assert pack.json is not None
    assert daily.json is not None
    assert link_a.json["items"] == [
        {
            "id": links["c"]["id"],
            "shares": 0,
            "human_clicks": 1,
            "unique_visitors": 1,
            "preview_fetches": 0,
            "bot_clicks": 0,
            "conversions": 0,
            "revenue": {},
        }
    ]
    assert (pack.json["items"][0]["human_clicks"], pack.json["items"][0]["conversions"]) == (4, 1)
    assert daily.json["items"][0]["human_clicks"] == 4
    assert "fan" not in repr([link_a.json, pack.json, daily.json])


@pytest.mark.parametrize(
    "path",
    [
        "/v1/stats/fans?ids=fan-1",
        "/v1/stats/daily?scope=fan&id=fan-1&start=2026-01-01&end=2026-01-02",
        "/v1/stats/top-fans?first=5",
    ],
)
def test_a_stats_read_partner_cannot_read_numbers_about_fans(
    live_pack: ReferralsHarness, path: str
) -> None:
    busy_day(live_pack)

    # when a partner key with STATS_READ asks for per-fan numbers or the leaderboard
    response = live_pack.call("GET", path, STATS_READER)

    # then it is refused with a reason
    assert response.status_code == 403
    assert response.json is not None
    assert response.json["error"]["code"] == "FORBIDDEN"
    assert "partner" in response.json["error"]["message"]


def test_partner_keys_without_stats_read_get_no_stats(live_pack: ReferralsHarness) -> None:
    links = busy_day(live_pack)
    wrong_scope = Principal(role="partner", api_key_id="key-8", scopes=("CONTENT_READ",))

    # when partner keys without STATS_READ ask for a link's or the pack's numbers
    for principal in (PARTNER, wrong_scope):
        by_link = live_pack.call("GET", f"/v1/stats/links?ids={links['a']['id']}", principal)
        by_pack = live_pack.call("GET", "/v1/stats/packs?ids=pack-1", principal)

        # then both are refused
        assert (by_link.status_code, by_pack.status_code) == (403, 403)


def test_a_daily_series_has_every_day_of_the_range(live_pack: ReferralsHarness) -> None:
    busy_day(live_pack)
    today = datetime.now(UTC).date()
    start = today - timedelta(days=2)

    # when staff ask for the pack's last three days
    response = live_pack.call(
        "GET", f"/v1/stats/daily?scope=pack&id=pack-1&start={start}&end={today}", MARKETER
    )

    # then there is one row a day, today holding the activity
    assert response.json is not None
    items = response.json["items"]
    assert [date.fromisoformat(item["day"]) for item in items] == [
        start,
        start + timedelta(days=1),
        today,
    ]
    assert [item["human_clicks"] for item in items] == [0, 0, 4]
    assert items[-1]["conversions"] == 1

    # and a backwards range is a clear 422
    bad = live_pack.call(
        "GET", f"/v1/stats/daily?scope=pack&id=pack-1&start={today}&end={start}", MARKETER
    )
    assert bad.status_code == 422


def test_top_fans_rank_by_conversions_then_clicks(live_pack: ReferralsHarness) -> None:
    busy_day(live_pack)

    # when the leaderboard's input is asked for
    response = live_pack.call("GET", "/v1/stats/top-fans?first=5", fan("fan-2"))

    # then the fan with an order comes first
    assert response.json is not None
    assert [item["id"] for item in response.json["items"]] == ["fan-1", "fan-2"]


def test_a_share_is_recorded_and_announced(live_pack: ReferralsHarness) -> None:
    # when a fan records a share
    response = live_pack.call(
        "POST", "/v1/shares", fan("fan-1"), json={"pack_id": "pack-1", "channel": "SMS"}
    )

    # then rewards is told about it
    assert response.status_code == 201
    assert response.json is not None
    (event,) = live_pack.outbox_events("referrals.share_recorded")
    assert event == {
        "share_id": response.json["id"],
        "fan_id": "fan-1",
        "pack_id": "pack-1",
        "channel": "SMS",
    }
    unknown = live_pack.call(
        "POST", "/v1/shares", fan("fan-1"), json={"pack_id": "nope", "channel": "SMS"}
    )
    assert unknown.status_code == 404


def test_a_fans_data_is_exported_to_them(live_pack: ReferralsHarness) -> None:
    links = busy_day(live_pack)

    # when fan-1 exports their data
    response = live_pack.call("GET", "/v1/fans/fan-1/export", fan("fan-1"))

    # then it holds their links, shares and conversions, and nobody else's
    assert response.json is not None
    data = response.json
    assert {link["code"] for link in data["links"]} == {links["a"]["code"], links["b"]["code"]}
    assert len(data["shares"]) == 3
    assert [conversion["status"] for conversion in data["conversions"]] == ["APPROVED"]
    assert live_pack.call("GET", "/v1/fans/fan-1/export", fan("fan-2")).status_code == 403


def test_erasing_a_fan_keeps_anonymous_counts(live_pack: ReferralsHarness) -> None:
    links = busy_day(live_pack)

    # when fan-1 deletes their account
    response = live_pack.call("DELETE", "/v1/fans/fan-1", fan("fan-1"))

    # then their links, shares and conversions are untied from them
    assert response.json is not None
    assert response.json["untied"] == {"links": 2, "shares": 3, "conversions": 1}
    assert live_pack.count(referral_links, referral_links.c.fan_id == "fan-1") == 0
    assert live_pack.count(referral_links, referral_links.c.fan_ref.is_not(None)) == 1
    export = live_pack.call("GET", "/v1/fans/fan-1/export", fan("fan-1")).json
    assert export == {"fan_id": "fan-1", "links": [], "shares": [], "conversions": []}

    # and the pack's anonymous counts are what they were
    pack = live_pack.stats("packs", "pack-1")
    assert (pack["human_clicks"], pack["conversions"]) == (4, 1)
    assert live_pack.count(clicks) == 6

    # and a later click on the link still redirects, but announces nothing
    before = len(live_pack.outbox_events("referrals.human_click"))
    for person in range(12):
        live_pack.visit(links["a"]["code"], PHONE_SAFARI, ip=f"192.0.2.{person}")
    live_pack.drain()
    assert len(live_pack.outbox_events("referrals.human_click")) == before
