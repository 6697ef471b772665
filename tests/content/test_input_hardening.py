"""Inputs the API fuzzer (test_api_fuzz.py) found answered with a 500, each now a clear 4xx."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from services.content.models import Asset
from services.content.sql import encode_cursor
from tests.content.conftest import FAN, ContentApi, png_bytes


def test_a_media_url_whose_signature_is_not_ascii_is_refused_as_invalid(
    content: ContentApi,
) -> None:
    # given a published pack's rendition, and its signed URL with a non-ASCII signature
    pack = content.published_pack()
    path = urlsplit(pack["assets"][0]["renditions"][0]["url"]).path
    expires = str(int(time.time()) + 600)

    # when a browser fetches it
    response = content.client.get(path, query_string={"expires": expires, "sig": "é" * 43})

    # then it is refused like any other bad signature, not a server error
    assert response.status_code == 403
    assert response.json is not None
    assert response.json["error"]["code"] == "MEDIA_LINK_INVALID"


def test_a_search_with_a_nul_character_is_refused_naming_the_parameter(
    content: ContentApi,
) -> None:
    # given a catalogue with a pack
    content.create_pack()

    # when a marketer searches with a NUL character (%00) in the term
    response = content.call("GET", "/v1/packs?search=mug%00s")

    # then the search is refused naming the parameter, not a server error
    assert response.status_code == 422
    assert response.json is not None
    assert response.json["error"]["code"] == "INVALID_CHARACTERS"
    assert response.json["error"]["details"] == {"location": "query", "field": "search"}


def test_a_pack_with_a_nul_or_an_unpaired_surrogate_in_its_text_is_refused_and_not_stored(
    content: ContentApi,
) -> None:
    # given a pack body whose title holds a NUL, and one whose caption holds a lone surrogate
    with_nul = b'{"title": "Kiln\\u0000tour", "destination_url": "https://shop.example.com/a"}'
    with_surrogate = b'{"title": "Kiln tour", "captions": [{"channel": "X", "text": "hi \\ud800"}]}'

    # when a marketer creates packs from them
    answers = [
        content.call("POST", "/v1/packs", data=body, content_type="application/json")
        for body in (with_nul, with_surrogate)
    ]

    # then both are refused naming the field, and no pack was written
    assert [answer.status_code for answer in answers] == [422, 422]
    assert [answer.json["error"]["details"] for answer in answers] == [  # type: ignore[index]
        {"location": "body", "field": "title"},
        {"location": "body", "field": "captions[0].text"},
    ]
    assert content.call("GET", "/v1/packs").json["total_count"] == 0  # type: ignore[index]


def test_an_id_past_64_bits_is_an_unknown_pack_not_a_server_error(content: ContentApi) -> None:
    # given a published pack
    content.published_pack()
    too_large = str(2**63)

    # when its pages are asked for an id no BIGINT can hold
    card = content.client.get(f"/media/packs/{too_large}/social-card")
    pack = content.call("GET", f"/v1/packs/{too_large}")

    # then each is a 404, as for any unknown pack
    assert (card.status_code, pack.status_code) == (404, 404)
    assert card.json is not None
    assert card.json["error"]["code"] == "NOT_FOUND"


def test_an_alt_text_with_a_nul_character_is_refused_and_no_asset_is_written(
    content: ContentApi,
) -> None:
    # given a draft pack
    pack = content.create_pack()

    # when an image is uploaded with a NUL character in its alt text
    response = content.upload(pack["id"], png_bytes(), alt_text="a red\x00 square")

    # then the upload is refused naming the field, and no asset was written
    assert response.status_code == 422
    assert response.json is not None
    assert list(response.json["error"]["details"]["fields"]) == ["alt_text"]
    assert content.count(Asset) == 0


def test_ids_and_cursors_past_64_bits_or_in_other_digits_are_not_server_errors(
    content: ContentApi,
) -> None:
    # given a published pack with feedback, and ids or cursor positions that no BIGINT
    # holds (2**64) or that are digits int() refuses ("²")
    pack = content.published_pack()
    content.call("PUT", f"/v1/packs/{pack['id']}/feedback", FAN, json={"sentiment": "IDEA"})
    huge, superscript = str(2**64), "\u00b2"
    moment = "2026-01-01T00:00:00"

    # when a batch read names them beside the real id
    batch = content.call("GET", f"/v1/packs?ids={pack['id']},{superscript}")
    # and list pages are asked to continue after them
    pages = [
        content.call("GET", f"/v1/packs?after={encode_cursor(position)}")
        for position in (huge, superscript)
    ] + [
        content.call("GET", f"/v1/packs/{pack['id']}/feedback?after={cursor}")
        for cursor in (encode_cursor(moment, huge), encode_cursor(moment, superscript))
    ]

    # then the batch has the real pack only, and each page is refused as a bad cursor
    assert batch.status_code == 200
    assert [item["id"] for item in batch.json["items"]] == [pack["id"]]  # type: ignore[index]
    assert [page.status_code for page in pages] == [422] * 4
    assert {page.json["error"]["code"] for page in pages} == {"BAD_CURSOR"}  # type: ignore[index]


def test_an_expiry_is_kept_as_the_same_instant_and_one_past_year_9999_is_refused(
    content: ContentApi,
) -> None:
    # given an expiry sent at +05:00, and one whose instant in UTC is past 9999-12-31
    # when packs are created with them
    offset = content.create_pack(expires_at="2999-06-01T05:00:00+05:00")
    too_late = content.call(
        "POST",
        "/v1/packs",
        json={
            "title": "Far",
            "summary": "s",
            "story": "x",
            "purpose": "LEARN",
            "destination_url": "https://shop.example.com/mugs",
            "expires_at": "9999-12-31T23:59:59-05:00",
        },
    )

    # then the first reads back as the same instant (SQLite kept no offset: it came back
    # five hours late), and the second is refused naming the field (PostgreSQL: a 500)
    read = content.call("GET", f"/v1/packs/{offset['id']}").json
    assert read is not None
    assert read["expires_at"] == "2999-06-01T00:00:00+00:00"
    assert too_late.status_code == 422
    assert too_late.json is not None
    assert too_late.json["error"]["code"] == "EXPIRY_TOO_LATE"
    assert too_late.json["error"]["details"] == {"field": "expires_at"}
