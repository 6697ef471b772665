"""The redirect's hot-path parts keep their contracts while being cheaper."""

from __future__ import annotations

import hashlib
import hmac
import json
import string
import time
from collections import Counter
from datetime import date

import psycopg
import pytest

from services.referrals.classify import VisitorKind
from services.referrals.clicks import Click
from services.referrals.codes import BASE62, new_click_id, new_link_code
from services.referrals.link_reader import DedicatedLinkReader, link_reader_for
from services.referrals.privacy import VisitorHasher
from services.referrals.redis_adapters import PUSH_CHUNK
from tests.referrals.conftest import ReferralsHarness


@pytest.mark.parametrize(
    "click",
    [
        Click("a" * 22, 7, "pack-1", VisitorKind.HUMAN, "v" * 32, "i" * 32, 1763860000.123456),
        Click("b" * 22, 2**40, 'pa"ck\\ é\n', VisitorKind.PREVIEW, None, None, 1.0),
        Click("c" * 22, 1, "p", VisitorKind.BOT, None, "x", time.time()),
    ],
)
def test_a_click_is_encoded_as_the_json_array_the_drain_reads(click: Click) -> None:
    # given a click, with awkward characters in a field or without hashes
    # when it is encoded
    encoded = click.encode()

    # then it is exactly the compact JSON array of its fields, and decodes to itself
    fields = [
        click.click_id,
        click.link_id,
        click.pack_id,
        click.kind.value,
        click.visitor_hash,
        click.ip_hash,
        click.occurred_at,
    ]
    assert encoded == json.dumps(fields, separators=(",", ":"))
    assert Click.decode(encoded) == click


def test_codes_and_click_ids_are_base62_of_their_length_and_use_every_character() -> None:
    # given many fresh click ids and codes
    click_ids = [new_click_id() for _ in range(3000)]
    codes = [new_link_code() for _ in range(3000)]

    # then each has its length, only base62 characters, and none repeats
    assert {len(value) for value in click_ids} == {22}
    assert {len(value) for value in codes} == {8}
    assert set("".join(click_ids + codes)) <= set(BASE62)
    assert len(set(click_ids)) == len(click_ids)
    assert len(set(codes)) == len(codes)
    # and every position draws from the whole alphabet, evenly (expected 3000/62 = 48 each)
    for position in (0, 7):
        counts = Counter(value[position] for value in click_ids)
        assert set(counts) == set(string.digits + string.ascii_letters)
        assert max(counts.values()) < 3 * 3000 / 62


def test_click_ids_draw_each_character_evenly_at_every_position() -> None:
    # given 62,000 fresh click ids (1,000 expected per character and position)
    click_ids = [new_click_id() for _ in range(62_000)]

    # then at each of the 22 positions every character comes up close to 1,000 times:
    # a bias of one byte value in 256 towards some characters would show as ~1,250
    for position in range(22):
        counts = Counter(value[position] for value in click_ids)
        assert len(counts) == 62
        assert min(counts.values()) > 820, (position, counts)
        assert max(counts.values()) < 1180, (position, counts)


@pytest.mark.parametrize(
    ("ip", "user_agent"),
    [
        ("203.0.113.7", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"),
        ("2001:db8::1", ""),
        ("198.51.100.1", "Agent with \u00e9 and \udcff (an unpaired surrogate) " + "x" * 300),
    ],
)
def test_visitor_and_ip_hashes_are_hmac_sha256_under_the_day_key(ip: str, user_agent: str) -> None:
    # given the hasher and the key it derives for a day
    hasher = VisitorHasher("s" * 40)
    day = date(2026, 11, 23)
    key = hmac.new(b"s" * 40, b"2026-11-23", hashlib.sha256).digest()

    # when a visitor is hashed
    visitor = hasher.visitor_hash(ip, user_agent, day)
    ip_only = hasher.ip_hash(ip, day)

    # then the hashes are the first 128 bits of HMAC-SHA256 under that day's key, as
    # stored before (so clicks of one day still compare with each other across a deploy)
    message = b"visitor\x00" + ip.encode() + b"\x00" + user_agent.encode(errors="replace")
    assert visitor == hmac.digest(key, message, "sha256").hex()[:32]
    assert ip_only == hmac.digest(key, b"ip\x00" + ip.encode(), "sha256").hex()[:32]
    # and the next day's key gives other hashes
    assert hasher.visitor_hash(ip, user_agent, date(2026, 11, 24)) != visitor


def test_a_batch_larger_than_one_script_call_reaches_the_stream_whole_and_in_order(
    live_pack: ReferralsHarness,
) -> None:
    # given more clicks than one call to Redis carries
    link = live_pack.create_link()
    stream = live_pack.components.stream
    batch = [
        Click(new_click_id(), int(link["id"]), "pack-1", VisitorKind.HUMAN, f"v{n}", "ip", 1.0)
        for n in range(PUSH_CHUNK * 2 + 5)
    ]

    stream.ensure_group()

    # when the stream takes them
    stream.push(batch)

    # then each click is one entry, in order, as the drain reads them
    read = stream.read(len(batch) + 10, pending=False)
    assert read.clicks == batch
    assert read.malformed == {}


def test_the_link_reader_survives_its_connection_being_cut(live_pack: ReferralsHarness) -> None:
    # given the redirect's reader, which has read a link once
    link = live_pack.create_link()
    reader = link_reader_for(live_pack.runtime.db)
    try:
        expected = (int(link["id"]), "pack-1", link["channel"])
        assert reader.find(link["code"]) == expected
        if isinstance(reader, DedicatedLinkReader):
            # (PostgreSQL) when the server ends the reader's own session
            connection = reader._held.connection
            assert connection is not None
            pid = connection.info.backend_pid
            with psycopg.connect(reader._conninfo, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

        # then the next read still finds the link (on a new connection), and an unknown
        # code is still unknown
        assert reader.find(link["code"]) == expected
        assert reader.find("Unknown99") is None
    finally:
        reader.close()


def test_an_unknown_code_gets_the_same_404_page_and_leaves_nothing_in_redis(
    live_pack: ReferralsHarness,
) -> None:
    # given two codes no link has
    codes = ["Unknown01", "Unknown02"]

    # when each is followed
    answers = [live_pack.client.get(f"/r/{code}") for code in codes]

    # then both get the same 404 page, and Redis was not written for them
    assert [answer.status_code for answer in answers] == [404, 404]
    assert answers[0].data == answers[1].data
    assert b"Link not found" in answers[0].data
    redis_client = live_pack.runtime.redis
    assert redis_client.exists(*(f"referrals:link:{code}" for code in codes)) == 0
