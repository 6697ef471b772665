"""Signed media URLs, the social-card redirect, feedback, and a fan's export and erasure."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.content.conftest import (
    ADMIN,
    ANONYMOUS,
    FAN,
    OTHER_FAN,
    SYSTEM,
    ContentApi,
)


def media_path(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    assert parts.netloc == "content.test"
    return parts.path, {key: values[0] for key, values in parse_qs(parts.query).items()}


def test_a_rendition_url_serves_the_image_with_nosniff(content: ContentApi) -> None:
    # given a published pack and the signed URL of its thumbnail
    pack = content.published_pack()
    [thumbnail] = [r for r in pack["assets"][0]["renditions"] if r["name"] == "thumbnail"]
    path, query = media_path(thumbnail["url"])

    # when a browser fetches it, without any token
    response = content.client.get(path, query_string=query)

    # then it gets the JPEG, typed, cacheable and not sniffable
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age" in response.headers["Cache-Control"]
    assert response.data.startswith(b"\xff\xd8\xff")
    response.close()


def test_a_tampered_or_expired_media_url_is_refused(content: ContentApi) -> None:
    pack = content.published_pack()
    path, query = media_path(pack["assets"][0]["renditions"][0]["url"])

    flipped = ("B" if query["sig"][0] == "A" else "A") + query["sig"][1:]
    tampered = content.client.get(path, query_string={**query, "sig": flipped})
    expired = content.client.get(path, query_string={**query, "expires": "1000"})
    other_key = content.client.get(path.replace("renditions/", "uploads/"), query_string=query)
    unsigned = content.client.get(path)

    for response in (tampered, expired, other_key):
        assert response.status_code == 403
        assert response.json is not None
        assert response.json["error"]["code"] == "MEDIA_LINK_INVALID"
    assert unsigned.status_code == 422


def test_the_social_card_url_redirects_to_a_fresh_signed_url(content: ContentApi) -> None:
    # given a published pack and a draft
    pack = content.published_pack()
    draft = content.create_pack(title="Draft")

    # when a crawler follows the pack's stable cover_url
    cover = urlsplit(pack["cover_url"]).path
    response = content.client.get(cover)
    hidden = content.client.get(f"/media/packs/{draft['id']}/social-card")

    # then it is sent to a signed URL that serves a 1200x630 card
    assert response.status_code == 302
    path, query = media_path(response.headers["Location"])
    image = content.client.get(path, query_string=query)
    assert image.status_code == 200
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(image.data)) as card:
        assert card.size == (1200, 630)
    image.close()
    assert hidden.status_code == 404


def test_feedback_one_of_each_per_fan_and_the_latest_wins(content: ContentApi) -> None:
    # given a published pack
    pack = content.published_pack()
    url = f"/v1/packs/{pack['id']}/feedback"

    # when one fan leaves two ideas and a criticism, and another fan praises it
    content.call("PUT", url, FAN, json={"sentiment": "IDEA", "text": "Blue mugs?"})
    content.call("PUT", url, FAN, json={"sentiment": "NEGATIVE", "text": "Too heavy"})
    last = content.call("PUT", url, FAN, json={"sentiment": "IDEA", "text": "Green mugs!"})
    content.call("PUT", url, OTHER_FAN, json={"sentiment": "POSITIVE"})

    # then the marketer sees three entries, newest first, and the tally
    assert last.status_code == 200
    page = content.call("GET", url).json
    assert page is not None
    assert [(item["sentiment"], item["text"]) for item in page["items"]] == [
        ("POSITIVE", None),
        ("IDEA", "Green mugs!"),
        ("NEGATIVE", "Too heavy"),
    ]
    assert page["tally"] == {"positive": 1, "negative": 1, "ideas": 1}
    assert page["total_count"] == 3
    pack_now = content.call("GET", f"/v1/packs/{pack['id']}").json
    assert pack_now is not None
    assert pack_now["stats"] == {"feedback": {"positive": 1, "negative": 1, "ideas": 1}}


def test_feedback_pages_with_a_cursor(content: ContentApi) -> None:
    pack = content.published_pack()
    url = f"/v1/packs/{pack['id']}/feedback"
    for sentiment in ("POSITIVE", "NEGATIVE", "IDEA"):
        content.call("PUT", url, FAN, json={"sentiment": sentiment})

    first = content.call("GET", url, query_string={"first": "2"}).json
    assert first is not None
    second = content.call(
        "GET", url, query_string={"first": "2", "after": first["page_info"]["end_cursor"]}
    ).json

    assert second is not None
    assert first["page_info"]["has_next_page"] is True
    assert second["page_info"]["has_next_page"] is False
    seen = [item["sentiment"] for item in first["items"] + second["items"]]
    assert sorted(seen) == ["IDEA", "NEGATIVE", "POSITIVE"]


def test_only_fans_leave_feedback_and_only_marketers_read_it(content: ContentApi) -> None:
    pack = content.published_pack()
    draft = content.create_pack(title="Draft")
    url = f"/v1/packs/{pack['id']}/feedback"

    assert content.call("PUT", url, ANONYMOUS, json={"sentiment": "IDEA"}).status_code == 403
    assert content.call("GET", url, FAN).status_code == 403
    on_draft = content.call(
        "PUT", f"/v1/packs/{draft['id']}/feedback", FAN, json={"sentiment": "IDEA"}
    )
    assert on_draft.status_code == 404
    bad = content.call("PUT", url, FAN, json={"sentiment": "MEH"})
    assert bad.status_code == 422


def test_a_fan_can_export_and_erase_what_content_holds(content: ContentApi) -> None:
    # given a fan's feedback
    pack = content.published_pack()
    url = f"/v1/packs/{pack['id']}/feedback"
    content.call("PUT", url, FAN, json={"sentiment": "IDEA", "text": "Mine"})

    # when the fan exports, then the platform erases them
    export = content.call("GET", f"/v1/fans/{FAN.user_id}/export", FAN).json
    snooping = content.call("GET", f"/v1/fans/{FAN.user_id}/export", OTHER_FAN)
    erased = content.call("DELETE", f"/v1/fans/{FAN.user_id}", SYSTEM).json

    # then the export held the feedback, and afterwards it counts but names no one
    assert export is not None
    assert [item["text"] for item in export["feedback"]] == ["Mine"]
    assert snooping.status_code == 403
    assert erased == {"fan_id": FAN.user_id, "feedback_anonymised": 1}
    page = content.call("GET", url, ADMIN).json
    assert page is not None
    assert page["tally"]["ideas"] == 1
    assert page["items"][0]["fan_id"] is None
    assert page["items"][0]["text"] is None
