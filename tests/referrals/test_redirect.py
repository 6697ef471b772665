"""``GET /r/<code>``: people are redirected and counted, previews and bots are told apart."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from services.referrals.buffer import DatabaseClickSink
from services.referrals.models import clicks
from services.referrals.redirect import decide_redirect
from tests.referrals.conftest import (
    DESKTOP_CHROME,
    PHONE_SAFARI,
    ReferralsHarness,
    build_harness,
    close_harness,
)

FACEBOOK = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
CURL = "curl/8.5.0"


def test_a_person_is_redirected_to_the_destination_with_a_click_id(
    live_pack: ReferralsHarness,
) -> None:
    # given a fan's link
    link = live_pack.create_link()

    # when a person on a phone follows it
    response = live_pack.visit(link["code"], PHONE_SAFARI)

    # then they are sent to the pack's destination, tagged, with a click id
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "shop.example", "/tour")
    query = parse_qs(location.query)
    assert query["utm_source"] == ["fanfare"]
    assert query["utm_medium"] == ["whatsapp"]
    assert query["utm_campaign"] == ["backstage-tour"]
    assert re.fullmatch(r"[0-9A-Za-z]{22}", query["ff_click"][0])

    # and once drained, the click counts as one human click and one unique visitor
    assert live_pack.drain() == 1
    stats = live_pack.stats("links", link["id"])
    assert (stats["human_clicks"], stats["unique_visitors"]) == (1, 1)
    assert (stats["preview_fetches"], stats["bot_clicks"]) == (0, 0)
    assert live_pack.count(clicks, clicks.c.click_id == query["ff_click"][0]) == 1


def test_a_preview_crawler_gets_the_card_and_is_counted_as_a_preview(
    live_pack: ReferralsHarness,
) -> None:
    # given a fan's link pasted into a chat
    link = live_pack.create_link()

    # when the app's preview crawler fetches it
    response = live_pack.visit(link["code"], FACEBOOK)

    # then it gets a page with the pack's Open Graph and Twitter card tags
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<meta property="og:title" content="Backstage tour">' in page
    assert '<meta property="og:description" content="Forty minutes behind the curtain.">' in page
    assert '<meta property="og:image" content="https://cdn.example/pack-1/social-card">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert f'<meta property="og:url" content="https://fan.example/r/{link["code"]}">' in page

    # and it is counted as a preview, not a click, and announces nothing
    live_pack.drain()
    stats = live_pack.stats("links", link["id"])
    assert (stats["human_clicks"], stats["preview_fetches"], stats["bot_clicks"]) == (0, 1, 0)
    assert live_pack.outbox_events("referrals.human_click") == []


def test_a_bot_is_redirected_but_counted_as_a_bot(live_pack: ReferralsHarness) -> None:
    # given a fan's link
    link = live_pack.create_link()

    # when a script fetches it with curl
    response = live_pack.visit(link["code"], CURL)

    # then it is redirected like anyone, but counted as a bot and announces nothing
    assert response.status_code == 302
    live_pack.drain()
    stats = live_pack.stats("links", link["id"])
    assert (stats["human_clicks"], stats["bot_clicks"]) == (0, 1)
    assert live_pack.outbox_events("referrals.human_click") == []


def test_a_head_request_is_answered_and_not_counted(live_pack: ReferralsHarness) -> None:
    # given a fan's link
    link = live_pack.create_link()

    # when a person's browser and a preview crawler only ask for the headers
    person = live_pack.visit(link["code"], PHONE_SAFARI, method="HEAD")
    crawler = live_pack.visit(link["code"], FACEBOOK, method="HEAD")

    # then both are answered, and nothing is counted
    assert person.status_code == 302
    assert "ff_click" not in person.headers["Location"]
    assert crawler.status_code == 200
    assert live_pack.stream_length() == 0
    assert live_pack.drain() == 0


def test_an_unknown_code_gets_a_404_page(live_pack: ReferralsHarness) -> None:
    # given codes no link has, well formed or not
    for code in ("Zz9Zz9Zz", "x", "../../etc"):
        # when someone follows one
        response = live_pack.visit(code)

        # then they get a 404 page and nothing is counted
        assert response.status_code == 404
    assert "text/html" in live_pack.visit("Zz9Zz9Zz").headers["Content-Type"]
    assert live_pack.stream_length() == 0


def test_the_link_of_an_archived_pack_gets_a_410_page(live_pack: ReferralsHarness) -> None:
    # given a link whose pack was then archived
    link = live_pack.create_link()
    live_pack.archive_pack()

    # when someone follows it
    response = live_pack.visit(link["code"])

    # then the link has ended (410) and nothing is counted
    assert response.status_code == 410
    assert "This link has ended" in response.get_data(as_text=True)
    assert live_pack.stream_length() == 0


def test_the_link_of_an_expired_pack_gets_a_410_page(referrals: ReferralsHarness) -> None:
    # given a link to a pack that expires in a moment
    expires = datetime.now(UTC) + timedelta(seconds=1)
    referrals.publish_pack(expires_at=expires)
    link = referrals.create_link()

    # when someone follows it after the expiry
    components = referrals.components
    decision = decide_redirect(
        components.directory,
        components.hasher,
        code=link["code"],
        counted=True,
        user_agent=PHONE_SAFARI,
        client_ip="198.51.100.1",
        now=(expires + timedelta(seconds=1)).timestamp(),
    )

    # then the link is gone and no click is made
    assert decision.outcome.value == "gone"
    assert decision.click is None


def test_the_same_visitor_within_30_minutes_is_one_unique_visitor(
    live_pack: ReferralsHarness,
) -> None:
    # given a fan's link
    link = live_pack.create_link()

    # when one person clicks twice, another person once, and the first again after 31 minutes
    live_pack.visit(link["code"], PHONE_SAFARI, ip="203.0.113.7")
    live_pack.visit(link["code"], PHONE_SAFARI, ip="203.0.113.7")
    live_pack.visit(link["code"], DESKTOP_CHROME, ip="203.0.113.7")
    live_pack.drain()
    components = live_pack.components
    later = decide_redirect(
        components.directory,
        components.hasher,
        code=link["code"],
        counted=True,
        user_agent=PHONE_SAFARI,
        client_ip="203.0.113.7",
        now=(datetime.now(UTC) + timedelta(minutes=31)).timestamp(),
    )
    assert later.click is not None
    DatabaseClickSink(live_pack.runtime.db, live_pack.runtime.outbox).push([later.click])

    # then there are four human clicks but three unique visits
    stats = live_pack.stats("links", link["id"])
    assert stats["human_clicks"] == 4
    assert stats["unique_visitors"] == 3


def test_no_raw_ip_address_is_stored(live_pack: ReferralsHarness) -> None:
    # given a click from a known address
    link = live_pack.create_link()
    live_pack.visit(link["code"], PHONE_SAFARI, ip="203.0.113.77")
    live_pack.drain()

    # when the stored click is read back
    with live_pack.runtime.db.transaction() as session:
        (row,) = session.execute(clicks.select()).mappings().all()

    # then neither the address nor the agent appears in it, only keyed hashes
    stored = " ".join(str(value) for value in row.values())
    assert "203.0.113.77" not in stored
    assert "iPhone" not in stored
    assert re.fullmatch(r"[0-9a-f]{32}", row["visitor_hash"])
    assert re.fullmatch(r"[0-9a-f]{32}", row["ip_hash"])


def test_the_visitor_hash_rotates_daily() -> None:
    # given one visitor on two days
    from datetime import date

    from services.referrals.privacy import VisitorHasher

    hasher = VisitorHasher("x" * 40)

    # when their hashes are computed
    monday = hasher.visitor_hash("203.0.113.7", PHONE_SAFARI, date(2026, 11, 23))
    tuesday = hasher.visitor_hash("203.0.113.7", PHONE_SAFARI, date(2026, 11, 24))

    # then they cannot be linked across days, and another secret gives other hashes
    assert monday != tuesday
    assert monday != VisitorHasher("y" * 40).visitor_hash(
        "203.0.113.7", PHONE_SAFARI, date(2026, 11, 23)
    )


def test_x_forwarded_for_is_believed_only_behind_a_trusted_proxy(
    database_url: str, redis_url: str
) -> None:
    # given the service with no trusted proxy, and the service behind one proxy
    direct = build_harness(database_url, redis_url)
    proxied = build_harness(database_url, redis_url, trusted_proxy_count=1)
    try:
        direct.publish_pack(expires_at=datetime.now(UTC) + timedelta(days=1))
        link = direct.create_link()

        # when two clicks claim different client addresses in X-Forwarded-For
        for harness in (direct, proxied):
            for forwarded in ("198.51.100.1", "198.51.100.2"):
                harness.client.get(
                    f"/r/{link['code']}",
                    headers={"User-Agent": PHONE_SAFARI, "X-Forwarded-For": forwarded},
                    environ_base={"REMOTE_ADDR": "10.0.0.1"},
                )
        direct.drain()

        # then without a trusted proxy they are one visitor (the header is ignored),
        # and behind the proxy they are two
        with direct.runtime.db.transaction() as session:
            rows = session.execute(clicks.select().order_by(clicks.c.occurred_at)).mappings().all()
        direct_hashes = {row["ip_hash"] for row in rows[:2]}
        proxied_hashes = {row["ip_hash"] for row in rows[2:]}
        assert len(direct_hashes) == 1
        assert len(proxied_hashes) == 2
    finally:
        close_harness(direct)
        close_harness(proxied)


def test_the_flask_view_answers_like_the_fast_path(live_pack: ReferralsHarness) -> None:
    # given the app without its WSGI fast path in front of Flask
    link = live_pack.create_link()
    fast_path = live_pack.app.wsgi_app
    live_pack.app.wsgi_app = fast_path.inner  # type: ignore[attr-defined,method-assign]
    try:
        # when a person and a crawler follow the link
        person = live_pack.visit(link["code"], PHONE_SAFARI)
        crawler = live_pack.visit(link["code"], FACEBOOK)
    finally:
        live_pack.app.wsgi_app = fast_path  # type: ignore[method-assign]

    # then Flask's view gives the same answers
    assert person.status_code == 302
    assert "ff_click=" in person.headers["Location"]
    assert person.headers["Cache-Control"] == "private, no-store"
    assert crawler.status_code == 200
    assert "og:title" in crawler.get_data(as_text=True)
    assert live_pack.drain() == 2


def test_a_preview_shows_the_pack_as_it_is_now_after_the_pack_changes(
    live_pack: ReferralsHarness,
) -> None:
    # given a link whose card a preview crawler has already fetched
    link = live_pack.create_link()
    first = live_pack.visit(link["code"], FACEBOOK).get_data(as_text=True)
    assert '<meta property="og:title" content="Backstage tour">' in first

    # when the pack is renamed and a crawler fetches the card again
    live_pack.publish_pack(event_type="content.pack_updated", title="Backstage tour, extended cut")
    again = live_pack.visit(link["code"], FACEBOOK)

    # then the card shows the new title, and a second fetch of it is counted too
    page = again.get_data(as_text=True)
    assert again.status_code == 200
    assert '<meta property="og:title" content="Backstage tour, extended cut">' in page
    assert '<meta property="og:title" content="Backstage tour">' not in page
    live_pack.drain()
    assert live_pack.stats("links", link["id"])["preview_fetches"] == 2


def test_two_links_to_one_pack_get_cards_with_their_own_short_url(
    live_pack: ReferralsHarness,
) -> None:
    # given two fans' links to the same pack
    first = live_pack.create_link("fan-1")
    second = live_pack.create_link("fan-2")

    # when a preview crawler fetches both cards
    pages = [
        live_pack.visit(link["code"], FACEBOOK).get_data(as_text=True) for link in (first, second)
    ]

    # then each card names its own short link
    for link, page in zip((first, second), pages, strict=True):
        assert f'<meta property="og:url" content="https://fan.example/r/{link["code"]}">' in page
    assert pages[0] != pages[1]
