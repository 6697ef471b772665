"""Input rules on packs, each refused with its own stable code."""

from __future__ import annotations

from typing import Any

import pytest

from tests.content.conftest import ContentApi


def create(content: ContentApi, **fields: Any) -> Any:
    body = {
        "title": "Rules",
        "summary": "s",
        "story": "t",
        "purpose": "LAUGH",
        "destination_url": "https://shop.example.com/",
        **fields,
    }
    return content.call("POST", "/v1/packs", json=body)


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("javascript:alert(1)", "DESTINATION_SCHEME_NOT_ALLOWED"),
        ("data:text/html;base64,PHNjcmlwdD4=", "DESTINATION_SCHEME_NOT_ALLOWED"),
        ("ftp://shop.example.com/file", "DESTINATION_SCHEME_NOT_ALLOWED"),
        ("/relative/path", "DESTINATION_SCHEME_NOT_ALLOWED"),
        ("https://user:secret@shop.example.com/", "DESTINATION_CREDENTIALS"),
        ("https://shop.example.com@evil.example.net/", "DESTINATION_CREDENTIALS"),
        ("https://fan.example/r/abc", "DESTINATION_SHORT_LINK"),
        ("https://content.test/media/x", "DESTINATION_SHORT_LINK"),
        ("https://evil.example.net/", "DESTINATION_HOST_NOT_ALLOWED"),
        ("https://shop.example.com.evil.net/", "DESTINATION_HOST_NOT_ALLOWED"),
        ("https://notbrand.example/", "DESTINATION_HOST_NOT_ALLOWED"),
        ("http://127.0.0.1/", "DESTINATION_HOST_NOT_ALLOWED"),
        ("https://shop.example.com\\@evil.net/", "DESTINATION_INVALID"),
        ("https://shop.example.com/a b", "DESTINATION_INVALID"),
        ("https:///nohost", "DESTINATION_INVALID"),
    ],
)
def test_a_destination_that_is_not_an_allowed_web_page_is_refused(
    content: ContentApi, url: str, code: str
) -> None:
    response = create(content, destination_url=url)

    assert response.status_code == 422
    assert response.json is not None
    assert response.json["error"]["code"] == code
    assert response.json["error"]["details"] == {"field": "destination_url"}


@pytest.mark.parametrize(
    "url",
    ["https://shop.example.com/p?x=1", "http://brand.example/", "https://deep.sub.brand.example/"],
)
def test_allowed_hosts_and_their_declared_subdomains_are_accepted(
    content: ContentApi, url: str
) -> None:
    assert create(content, destination_url=url).status_code == 201


def test_an_x_caption_counts_the_link_as_23_characters(content: ContentApi) -> None:
    # given X's 280 characters: caption + " #ad" + " " + a 23-character link
    fits = "a" * (280 - 23 - 1 - len(" #ad"))

    # when the caption is exactly at the limit, then one character over
    ok = create(content, captions=[{"channel": "X", "text": fits}])
    over = create(content, captions=[{"channel": "X", "text": fits + "b"}])

    # then the first is accepted and the second refused with a code
    assert ok.status_code == 201
    assert over.status_code == 422
    assert over.json is not None
    assert over.json["error"]["code"] == "CAPTION_TOO_LONG"


def test_x_counts_emoji_as_two(content: ContentApi) -> None:
    text = "\U0001f600" * 130  # 260 weighted, over once the link and #ad are added

    response = create(content, captions=[{"channel": "X", "text": text}])

    assert response.status_code == 422


def test_a_linkedin_caption_may_be_longer_than_an_x_one(content: ContentApi) -> None:
    response = create(content, captions=[{"channel": "LINKEDIN", "text": "a" * 1000}])

    assert response.status_code == 201


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"hashtags": ["two words"]}, "HASHTAG_INVALID"),
        ({"hashtags": ["123"]}, "HASHTAG_INVALID"),
        ({"hashtags": [f"tag{n}" for n in range(31)]}, "TOO_MANY_HASHTAGS"),
        ({"tags": ["bad/tag"]}, "TAG_INVALID"),
        ({"tags": [f"t{n}" for n in range(21)]}, "TOO_MANY_TAGS"),
        (
            {"captions": [{"channel": "X", "text": "a"}, {"channel": "X", "text": "b"}]},
            "DUPLICATE_CAPTION_CHANNEL",
        ),
        ({"title": "x" * 201}, "INVALID"),
        ({"purpose": "RAGE"}, "INVALID"),
        ({"min_tier": "GOLD"}, "INVALID"),
    ],
)
def test_bad_tags_hashtags_captions_and_lengths_are_refused(
    content: ContentApi, fields: dict[str, Any], code: str
) -> None:
    response = create(content, **fields)

    assert response.status_code == 422
    assert response.json is not None
    assert response.json["error"]["code"] == code


def test_an_update_is_held_to_the_same_rules(content: ContentApi) -> None:
    pack = content.create_pack(captions=[{"channel": "X", "text": "a" * 200}])

    # adding long hashtags would push the X caption past its limit
    response = content.call(
        "PATCH", f"/v1/packs/{pack['id']}", json={"hashtags": ["x" * 40, "y" * 40]}
    )
    evil = content.call(
        "PATCH", f"/v1/packs/{pack['id']}", json={"destination_url": "javascript:alert(1)"}
    )

    assert response.status_code == 422
    assert response.json is not None
    assert response.json["error"]["code"] == "CAPTION_TOO_LONG"
    assert evil.status_code == 422
    unchanged = content.call("GET", f"/v1/packs/{pack['id']}").json
    assert unchanged is not None
    assert unchanged["hashtags"] == []
    assert unchanged["destination_url"] == "https://shop.example.com/mugs"
