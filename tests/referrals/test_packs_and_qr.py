"""The pack read model from content events, QR codes, and the committed OpenAPI document."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import segno

from services.referrals.openapi import OPENAPI_PATH, render_openapi
from tests.referrals.conftest import ReferralsHarness


def test_a_pack_update_changes_where_links_lead(live_pack: ReferralsHarness) -> None:
    # given a fan's link
    link = live_pack.create_link()

    # when the marketer changes the pack's destination
    live_pack.publish_pack(
        destination_url="https://shop.example/new",
        event_type="content.pack_updated",
        expires_at=datetime.now(UTC) + timedelta(days=3),
    )
    live_pack.components.directory._packs.discard("pack-1")  # another process's TTL ran out

    # then people are sent to the new destination
    location = live_pack.visit(link["code"]).headers["Location"]
    assert location.startswith("https://shop.example/new?utm_source=fanfare")


def test_an_archive_that_overtakes_the_publication_wins(referrals: ReferralsHarness) -> None:
    # given a pack archived at noon
    noon = datetime(2026, 11, 22, 12, tzinfo=UTC)
    referrals.publish_pack(occurred_at=noon - timedelta(hours=2))
    link = referrals.create_link()
    referrals.publish_pack(event_type="content.pack_archived", occurred_at=noon)

    # when an older update arrives late
    referrals.publish_pack(event_type="content.pack_updated", occurred_at=noon - timedelta(hours=1))
    referrals.components.directory._packs.discard("pack-1")

    # then the pack stays archived and its links are gone
    assert referrals.visit(link["code"]).status_code == 410


def test_every_link_has_a_cached_qr_code(live_pack: ReferralsHarness) -> None:
    # given a fan's link
    link = live_pack.create_link()

    # when the QR code is fetched as SVG and as PNG, without any token
    svg = live_pack.client.get(f"/r/{link['code']}/qr.svg")
    png = live_pack.client.get(f"/r/{link['code']}/qr.png")

    # then both are images that may be cached, and a repeat fetch is a 304
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    assert svg.get_data(as_text=True).lstrip().startswith("<svg")
    assert png.status_code == 200
    assert png.get_data().startswith(b"\x89PNG")
    assert "max-age=86400" in svg.headers["Cache-Control"]
    etag = svg.headers["ETag"]
    again = live_pack.client.get(f"/r/{link['code']}/qr.svg", headers={"If-None-Match": etag})
    assert again.status_code == 304

    # and fetching a QR code counts no click; an unknown code is a 404
    assert live_pack.stream_length() == 0
    assert live_pack.client.get("/r/Zz9Zz9Zz/qr.png").status_code == 404


def test_the_qr_code_encodes_the_short_link(live_pack: ReferralsHarness) -> None:
    # given a fan's link
    link = live_pack.create_link()

    # when its QR code is made again from the short URL the API reports
    expected = io.BytesIO()
    segno.make(link["short_url"], error="m", micro=False).save(
        expected, kind="svg", scale=8, border=4, xmldecl=False
    )

    # then the served image is exactly that code
    served = live_pack.client.get(f"/r/{link['code']}/qr.svg").get_data()
    assert served == expected.getvalue()


def test_v1_needs_the_internal_token_and_r_does_not(live_pack: ReferralsHarness) -> None:
    link = live_pack.create_link()
    assert live_pack.client.get("/v1/stats/top-fans").status_code == 401
    assert live_pack.client.get(f"/r/{link['code']}").status_code == 302


def test_the_committed_openapi_document_matches_the_code(referrals: ReferralsHarness) -> None:
    # given the document generated from the views' schemas now
    rendered = render_openapi(referrals.app)

    # then it is the one committed (run `fanfare referrals openapi` after changing the API)
    assert OPENAPI_PATH.read_text() == rendered
