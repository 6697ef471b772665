"""Link creation: one link per (fan, pack, channel), a random code, the pack's destination."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from services.referrals.codes import CODE_PATTERN
from services.referrals.privacy import email_digest
from tests.referrals.conftest import MARKETER, PARTNER, ReferralsHarness, fan


def test_a_fan_gets_a_short_link_with_utm_parameters(live_pack: ReferralsHarness) -> None:
    # given a published pack
    # when a fan asks for a link to share it on WhatsApp
    response = live_pack.call(
        "POST",
        "/v1/links",
        fan("fan-1"),
        json={"pack_id": "pack-1", "channel": "WHATSAPP", "fan_ref": email_digest("a@b.example")},
    )

    # then a new link is made, with an unguessable code and the pack's own destination
    assert response.status_code == 201
    link = response.json
    assert link is not None
    assert CODE_PATTERN.match(link["code"])
    assert len(link["code"]) >= 7
    assert link["short_url"] == f"https://fan.example/r/{link['code']}"
    assert link["qr_code_url"] == f"https://fan.example/r/{link['code']}/qr.svg"
    assert link["fan_id"] == "fan-1"
    destination = urlsplit(link["destination_url"])
    assert destination.netloc == "shop.example"
    assert parse_qs(destination.query) == {
        "ref": ["site"],
        "utm_source": ["fanfare"],
        "utm_medium": ["whatsapp"],
        "utm_campaign": ["backstage-tour"],
    }


def test_asking_again_returns_the_same_link(live_pack: ReferralsHarness) -> None:
    # given a fan's link for a pack and channel
    first = live_pack.create_link()

    # when the fan asks again
    body = {"pack_id": "pack-1", "channel": "WHATSAPP", "fan_ref": email_digest("x@y.example")}
    again = live_pack.call("POST", "/v1/links", fan("fan-1"), json=body)

    # then the same link comes back (200, not a new one)
    assert again.status_code == 200
    assert again.json is not None
    assert again.json["code"] == first["code"]
    assert again.json["id"] == first["id"]


def test_each_channel_and_each_fan_gets_its_own_link(live_pack: ReferralsHarness) -> None:
    # given one fan's WhatsApp link
    whatsapp = live_pack.create_link(channel="WHATSAPP")

    # when the fan asks for an email link, and another fan for a WhatsApp link
    email = live_pack.create_link(channel="EMAIL")
    other = live_pack.create_link(fan_id="fan-2", channel="WHATSAPP")

    # then all three codes differ
    assert len({whatsapp["code"], email["code"], other["code"]}) == 3


def test_a_fan_cannot_supply_a_destination(live_pack: ReferralsHarness) -> None:
    # given a fan trying to point a link at their own site
    body = {
        "pack_id": "pack-1",
        "channel": "X",
        "fan_ref": email_digest("a@b.example"),
        "destination_url": "https://evil.example/",
    }

    # when they ask for a link with a destination
    response = live_pack.call("POST", "/v1/links", fan(), json=body)

    # then the unknown field is refused
    assert response.status_code == 422
    assert response.json is not None
    assert response.json["error"]["code"] == "INVALID"
    assert "destination_url" in response.json["error"]["details"]["fields"]


def test_a_link_to_an_unknown_pack_is_refused_with_pack_not_found(
    referrals: ReferralsHarness,
) -> None:
    # given no pack at all
    # when a fan asks for a link to one
    body = {"pack_id": "nope", "channel": "X", "fan_ref": email_digest("a@b.example")}
    response = referrals.call("POST", "/v1/links", fan(), json=body)

    # then the answer says the pack is unknown
    assert response.status_code == 404
    assert response.json is not None
    assert response.json["error"]["code"] == "PACK_NOT_FOUND"


def test_a_link_to_an_archived_pack_is_refused_with_pack_not_published(
    live_pack: ReferralsHarness,
) -> None:
    # given a pack that was archived
    live_pack.archive_pack()

    # when a fan asks for a link to it
    body = {"pack_id": "pack-1", "channel": "X", "fan_ref": email_digest("a@b.example")}
    response = live_pack.call("POST", "/v1/links", fan(), json=body)

    # then it is refused as not published
    assert response.status_code == 409
    assert response.json is not None
    assert response.json["error"]["code"] == "PACK_NOT_PUBLISHED"


def test_bad_link_requests_get_field_errors(live_pack: ReferralsHarness) -> None:
    # given a body with an unknown channel and an email where the digest belongs
    body = {"pack_id": "pack-1", "channel": "FAX", "fan_ref": "ada@example.com"}

    # when it is sent
    response = live_pack.call("POST", "/v1/links", fan(), json=body)

    # then both fields are named, and nothing is made
    assert response.status_code == 422
    assert response.json is not None
    assert set(response.json["error"]["details"]["fields"]) == {"channel", "fan_ref"}
    not_json = live_pack.call("POST", "/v1/links", fan(), data="{", content_type="text/plain")
    assert not_json.status_code == 422


def test_only_fans_make_links(live_pack: ReferralsHarness) -> None:
    # given a partner's and a marketer's token
    body = {"pack_id": "pack-1", "channel": "X", "fan_ref": email_digest("a@b.example")}

    # when they ask for a link
    for principal in (PARTNER, MARKETER):
        response = live_pack.call("POST", "/v1/links", principal, json=body)

        # then they are refused
        assert response.status_code == 403


def test_links_are_read_in_batch_and_a_fan_sees_only_their_own(
    live_pack: ReferralsHarness,
) -> None:
    # given links of two fans
    mine = live_pack.create_link(fan_id="fan-1")
    theirs = live_pack.create_link(fan_id="fan-2")
    ids = f"{mine['id']},{theirs['id']},999999"

    # when a marketer and a fan read them by id
    staff = live_pack.call("GET", f"/v1/links?ids={ids}", MARKETER)
    own = live_pack.call("GET", f"/v1/links?ids={ids}", fan("fan-1"))

    # then staff see both (the missing id simply absent), the fan only their own
    assert staff.json is not None
    assert own.json is not None
    assert sorted(item["id"] for item in staff.json["items"]) == sorted([mine["id"], theirs["id"]])
    assert [item["id"] for item in own.json["items"]] == [mine["id"]]

    # and by code anyone signed in resolves a link, without learning whose it is
    by_code = live_pack.call("GET", f"/v1/links?codes={theirs['code']}", fan("fan-1"))
    assert by_code.json is not None
    (resolved,) = by_code.json["items"]
    assert resolved["code"] == theirs["code"]
    assert resolved["fan_id"] is None


def test_a_fans_links_are_paged_newest_first(live_pack: ReferralsHarness) -> None:
    # given a fan with three links
    made = [live_pack.create_link(channel=channel) for channel in ("X", "EMAIL", "SMS")]

    # when they page through two at a time
    first = live_pack.call("GET", "/v1/fans/fan-1/links?first=2", fan("fan-1")).json
    assert first is not None
    after = first["page_info"]["end_cursor"]
    second = live_pack.call("GET", f"/v1/fans/fan-1/links?first=2&after={after}", fan("fan-1"))

    # then they see all three, newest first, once each
    assert second.json is not None
    seen = [item["id"] for item in first["items"] + second.json["items"]]
    assert seen == [link["id"] for link in reversed(made)]
    assert first["page_info"]["has_next_page"] is True
    assert second.json["page_info"]["has_next_page"] is False
    assert first["total_count"] == 3

    # and another fan may not list them; a forged cursor is a clear 422
    assert live_pack.call("GET", "/v1/fans/fan-1/links", fan("fan-2")).status_code == 403
    forged = live_pack.call("GET", "/v1/fans/fan-1/links?after=xyz", fan("fan-1"))
    assert forged.status_code == 422
