"""Content's times mean one instant on both databases, through its API and its SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import update

from services.common.events import Event
from services.content.fans import apply_tier_changed, tier_of
from services.content.models import ContentPack
from services.content.sql import encode_cursor
from tests.content.conftest import ANONYMOUS, FAN, ContentApi

PLUS_FIVE = timezone(timedelta(hours=5))
MINUS_EIGHT = timezone(timedelta(hours=-8))
MINUS_THREE_THIRTY = timezone(-timedelta(hours=3, minutes=30))


def test_an_expiry_sent_with_an_offset_round_trips_as_the_same_instant(
    content: ContentApi,
) -> None:
    # given a pack created with an expiry at +05:00, then moved to one at -03:30
    created_with = datetime(2999, 6, 1, 5, 0, 15, tzinfo=PLUS_FIVE)
    moved_to = datetime(2999, 7, 1, 20, 30, 45, 120000, tzinfo=MINUS_THREE_THIRTY)
    pack = content.create_pack(expires_at=created_with.isoformat())
    created = content.call("GET", f"/v1/packs/{pack['id']}").json
    patched = content.call(
        "PATCH", f"/v1/packs/{pack['id']}", json={"expires_at": moved_to.isoformat()}
    )
    assert patched.status_code == 200, patched.json

    # when the pack is read back
    read = content.call("GET", f"/v1/packs/{pack['id']}").json

    # then each expiry is the instant sent, written in UTC with its offset
    assert created is not None
    assert read is not None
    assert created["expires_at"] == "2999-06-01T00:00:15+00:00"
    assert read["expires_at"] == "2999-07-02T00:00:45.120000+00:00"
    assert datetime.fromisoformat(read["expires_at"]) == moved_to


def set_expiry(content: ContentApi, pack_id: str, moment: datetime) -> None:
    with content.context.db.transaction() as session:
        session.execute(
            update(ContentPack).where(ContentPack.id == int(pack_id)).values(expires_at=moment)
        )


def test_fans_see_a_pack_until_its_expiry_instant_whatever_offset_it_has(
    content: ContentApi,
) -> None:
    # given a pack that expires in an hour, its expiry written at -08:00 (wall time earlier
    # than now in UTC), and one that expired a minute ago, written at +05:00 (wall time later)
    live = content.published_pack(title="Live")
    gone = content.published_pack(title="Gone")
    now = datetime.now(UTC)
    set_expiry(content, live["id"], (now + timedelta(hours=1)).astimezone(MINUS_EIGHT))
    set_expiry(content, gone["id"], (now - timedelta(minutes=1)).astimezone(PLUS_FIVE))

    # when a fan lists packs and asks for each
    listed = content.call("GET", "/v1/packs", FAN).json
    by_id = content.call("GET", "/v1/packs", ANONYMOUS, query_string={"ids": f"{live['id']}"})
    gone_read = content.call("GET", f"/v1/packs/{gone['id']}", FAN)

    # then the live pack shows and the expired one does not, on both databases
    assert listed is not None
    assert [item["title"] for item in listed["items"]] == ["Live"]
    assert by_id.json is not None
    assert [item["id"] for item in by_id.json["items"]] == [live["id"]]
    assert gone_read.status_code == 404


def test_a_feedback_cursor_with_a_time_and_no_offset_is_a_bad_cursor(
    content: ContentApi,
) -> None:
    # given a published pack with a fan's feedback
    pack = content.published_pack()
    left = content.call("PUT", f"/v1/packs/{pack['id']}/feedback", FAN, json={"sentiment": "IDEA"})
    assert left.status_code == 200, left.json

    # when a marketer pages on with a cursor whose time has no offset (not one handed out)
    forged = encode_cursor("2026-11-22T19:30:00", 1)
    response = content.call(
        "GET", f"/v1/packs/{pack['id']}/feedback", query_string={"after": forged}
    )

    # then it is refused as a bad cursor naming `after`, not a 500
    assert response.status_code == 422
    assert response.json is not None
    assert response.json["error"]["code"] == "BAD_CURSOR"
    assert response.json["error"]["details"] == {"field": "after"}


def tier_changed(tier: str, occurred_at: str) -> Event:
    return Event(
        id=f"tier-{tier}",
        type="rewards.tier_changed",
        producer="rewards",
        occurred_at=occurred_at,
        payload={"fan_id": "fan-1", "old_tier": "FAN", "new_tier": tier},
    )


def test_an_older_tier_change_sent_at_another_offset_changes_nothing(
    content: ContentApi,
) -> None:
    # given a fan made INSIDER at 10:00Z
    with content.context.db.transaction() as session:
        apply_tier_changed(session, tier_changed("INSIDER", "2026-11-22T10:00:00+00:00"))

    # when an older change arrives late, written at +05:00 (07:00Z; its wall time 12:00)
    with content.context.db.transaction() as session:
        apply_tier_changed(session, tier_changed("ADVOCATE", "2026-11-22T12:00:00+05:00"))

    # then the newer tier stands
    with content.context.db.reading() as session:
        assert tier_of(session, "fan-1") == "INSIDER"


def test_a_newer_tier_change_sent_at_another_offset_applies(content: ContentApi) -> None:
    # given a fan made INSIDER at 10:00Z
    with content.context.db.transaction() as session:
        apply_tier_changed(session, tier_changed("INSIDER", "2026-11-22T10:00:00+00:00"))

    # when a newer change arrives written at -08:00 (11:00Z; its wall time 03:00)
    with content.context.db.transaction() as session:
        apply_tier_changed(session, tier_changed("AMBASSADOR", "2026-11-22T03:00:00-08:00"))

    # then it applies
    with content.context.db.reading() as session:
        assert tier_of(session, "fan-1") == "AMBASSADOR"
