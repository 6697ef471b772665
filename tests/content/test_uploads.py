"""Uploads: size limit, type from the bytes, the hostile corpus, and the formats corpus."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from services.content.models import Asset
from tests.content.conftest import CORPUS, FAN, ContentApi, jpeg_bytes, png_bytes

HOSTILE = sorted((CORPUS / "hostile").iterdir())
FORMATS = sorted((CORPUS / "formats").iterdir())
RENDITIONS = {"original", "story", "square", "social_card", "thumbnail"}


def error_code(response: object) -> str:
    body = response.json  # type: ignore[attr-defined]
    assert body is not None
    return str(body["error"]["code"])


def test_an_image_is_accepted_and_processed_into_every_rendition(content: ContentApi) -> None:
    # given a draft pack
    pack = content.create_pack()

    # when a marketer uploads a JPEG with alt text
    response = content.upload(pack["id"], jpeg_bytes((1600, 1000)), alt_text="The kiln")

    # then it is accepted for processing, and once processed has all five renditions
    assert response.status_code == 202
    assert response.json is not None
    assert response.json["status"] == "PROCESSING"
    assert response.json["content_type"] == "image/jpeg"
    assert (response.json["width"], response.json["height"]) == (1600, 1000)
    content.process_queued()
    asset = content.call("GET", f"/v1/assets/{response.json['id']}").json
    assert asset is not None
    assert asset["status"] == "READY"
    assert asset["alt_text"] == "The kiln"
    sizes = {r["name"]: (r["width"], r["height"]) for r in asset["renditions"]}
    assert sizes == {
        "original": (1600, 1000),
        "story": (1080, 1920),
        "square": (1080, 1080),
        "social_card": (1200, 630),
        "thumbnail": (320, 200),
    }


def test_a_file_over_the_size_limit_gets_413_before_it_is_read(
    content: ContentApi, tmp_path: Path
) -> None:
    # given a service that accepts 1 MiB
    pack = content.create_pack()
    limit = content.context.settings.max_upload_bytes
    big = b"\xff\xd8\xff" + b"\0" * (limit + 200 * 1024)

    # when a larger file is uploaded
    response = content.upload(pack["id"], big)

    # then it is refused with 413 and a code, and nothing was stored
    assert response.status_code == 413
    assert error_code(response) == "FILE_TOO_LARGE"
    assert content.count(Asset) == 0


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg"),
        (b"<!doctype html><script>alert(1)</script>", "photo.jpg"),
        (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "cover.png"),
        (b"GIF8 not really", "x.gif"),
        (b"\x00" * 100, "zeros.jpg"),
    ],
    ids=["svg", "html-named-jpg", "pdf-named-png", "fake-gif", "zeros"],
)
def test_anything_but_jpeg_png_webp_gif_is_refused_with_415(
    content: ContentApi, data: bytes, filename: str
) -> None:
    pack = content.create_pack()

    response = content.upload(pack["id"], data, filename)

    assert response.status_code == 415
    assert error_code(response) == "UNSUPPORTED_MEDIA_TYPE"
    assert content.count(Asset) == 0


def test_the_type_comes_from_the_bytes_not_the_name(content: ContentApi) -> None:
    pack = content.create_pack()

    response = content.upload(pack["id"], png_bytes(), "holiday.jpg")

    assert response.status_code == 202
    assert response.json is not None
    assert response.json["content_type"] == "image/png"


def test_a_fan_cannot_upload(content: ContentApi) -> None:
    pack = content.create_pack()

    response = content.upload(pack["id"], png_bytes(), "a.png", FAN)

    assert response.status_code == 403


def test_an_upload_without_a_file_part_is_a_422(content: ContentApi) -> None:
    pack = content.create_pack()

    response = content.call(
        "POST",
        f"/v1/packs/{pack['id']}/assets",
        data={"alt_text": "x"},
        content_type="multipart/form-data",
    )

    assert response.status_code == 422
    assert error_code(response) == "FILE_MISSING"


def test_an_image_over_the_pixel_limit_is_refused_from_its_header(content: ContentApi) -> None:
    # given a small file that declares 60 megapixels (limit: 50)
    pack = content.create_pack()
    out = io.BytesIO()
    Image.new("L", (10_000, 6_000)).save(out, "PNG")

    # when it is uploaded
    started = time.perf_counter()
    response = content.upload(pack["id"], out.getvalue(), "huge.png")

    # then it is refused at once
    assert response.status_code == 422
    assert error_code(response) == "IMAGE_TOO_LARGE"
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("path", HOSTILE, ids=lambda path: path.name)
def test_every_hostile_file_is_refused_quickly_and_the_service_stays_healthy(
    content: ContentApi, path: Path
) -> None:
    # given a pack, and a file from the fuzzing and CVE corpus
    pack = content.create_pack()

    # when it is uploaded
    started = time.perf_counter()
    response = content.upload(pack["id"], path.read_bytes(), path.name)
    elapsed = time.perf_counter() - started

    # then it is refused with a 4xx and a code, within 5 seconds, and nothing was recorded
    assert 400 <= response.status_code < 500, response.json
    assert error_code(response) in {"UNSUPPORTED_MEDIA_TYPE", "IMAGE_TOO_LARGE", "IMAGE_UNREADABLE"}
    assert elapsed < 5
    assert content.count(Asset) == 0
    assert content.client.get("/healthz").status_code == 200


def _has_metadata(data: bytes) -> list[str]:
    with Image.open(io.BytesIO(data)) as image:
        found = [
            key
            for key in ("exif", "icc_profile", "xmp", "comment", "XML:com.adobe.xmp")
            if image.info.get(key)
        ]
        if image.getexif():
            found.append("exif-tags")
        found += [
            key
            for key in image.info
            if isinstance(key, str) and key.startswith(("Raw profile", "GPS"))
        ]
        return found


def _quadrant_means(image: Image.Image) -> list[float]:
    small = image.convert("L").resize((2, 2), Image.Resampling.BOX)
    return [float(small.getpixel((x, y)) or 0) for y in range(2) for x in range(2)]  # type: ignore[arg-type]


@pytest.mark.parametrize("path", FORMATS, ids=lambda path: path.name)
def test_every_format_sample_is_processed_cleanly_or_refused_with_a_4xx(
    content: ContentApi, path: Path
) -> None:
    # given a pack, and an awkward but real image
    pack = content.create_pack()
    data = path.read_bytes()

    # when it is uploaded and processed
    response = content.upload(pack["id"], data, path.name)

    # then it is either refused with a 4xx and a code ...
    assert response.status_code < 500
    if response.status_code != 202:
        assert 400 <= response.status_code < 500
        assert error_code(response) in {"IMAGE_UNREADABLE", "UNSUPPORTED_MEDIA_TYPE"}
        return
    assert response.json is not None
    content.process_queued()
    asset = content.call("GET", f"/v1/assets/{response.json['id']}").json
    assert asset is not None
    # ... or ends FAILED with a code (it passed the header, then would not decode) ...
    assert asset["status"] in {"READY", "FAILED"}
    if asset["status"] == "FAILED":
        assert asset["failure_code"] == "IMAGE_UNREADABLE"
        return
    # ... or READY: every rendition present, oriented as the camera meant, with no metadata
    assert {r["name"] for r in asset["renditions"]} == RENDITIONS
    with Image.open(io.BytesIO(data)) as source:
        expected = ImageOps.exif_transpose(source.convert("RGB") if source.mode == "P" else source)
        expected_means = _quadrant_means(expected.convert("RGB"))
        expected_size = expected.size
    storage = content.context.storage
    from sqlalchemy import select

    from services.content.models import Rendition

    with content.runtime.db.transaction() as session:
        rows = list(
            session.scalars(select(Rendition).where(Rendition.asset_id == int(asset["id"])))
        )
    for row in rows:
        rendered = storage.get(row.storage_key)
        assert _has_metadata(rendered) == [], (row.name, _has_metadata(rendered))
        with Image.open(io.BytesIO(rendered)) as image:
            assert image.size == (row.width, row.height)
            if row.name == "original":
                assert image.size == expected_size
                if min(expected_size) >= 8 and image.mode in ("RGB", "L"):
                    means = _quadrant_means(image.convert("RGB"))
                    assert max(abs(a - b) for a, b in zip(means, expected_means, strict=True)) < 25
