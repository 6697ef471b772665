"""The rendition chain: every rendition shows the centred part of the upright picture."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageOps, ImageStat

from services.content.imaging import CROPPED_RENDITIONS, JPEG_QUALITY, PillowImagePipeline


def sideways_photo(orientation: int) -> bytes:
    """A 2400x1600 JPEG of quadrants and a diagonal, stored with an EXIF orientation."""
    image = Image.new("RGB", (2400, 1600), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1199, 799), fill="red")
    draw.rectangle((1200, 800, 2399, 1599), fill="blue")
    draw.line((0, 0, 2399, 1599), fill="black", width=40)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    difference = ImageChops.difference(first.convert("RGB"), second.convert("RGB"))
    return sum(ImageStat.Stat(difference).mean) / 3


@pytest.mark.parametrize("orientation", range(1, 9))
def test_each_rendition_is_the_centred_crop_of_the_upright_image(orientation: int) -> None:
    # given a photo stored sideways (or not) with its EXIF orientation
    data = sideways_photo(orientation)
    with Image.open(io.BytesIO(data)) as source:
        upright = ImageOps.exif_transpose(source)

    # when the pipeline renders it
    rendered = {image.name: image for image in PillowImagePipeline(max_pixels=10**8).render(data)}

    # then each rendition matches the upright picture cropped and scaled the usual way
    for spec in CROPPED_RENDITIONS:
        with Image.open(io.BytesIO(rendered[spec.name].data)) as made:
            lanczos = Image.Resampling.LANCZOS
            if spec.height:
                expected = ImageOps.fit(upright, (spec.width, spec.height), lanczos)
            else:
                expected = ImageOps.contain(upright, (spec.width, 10**4), lanczos)
            assert made.size == expected.size, spec.name
            assert mean_difference(made, expected) < 6, spec.name
    with Image.open(io.BytesIO(rendered["original"].data)) as original:
        assert original.size == upright.size
        assert mean_difference(original, upright) < 6


def test_a_very_tall_image_gets_a_thumbnail_of_its_centre_not_a_giant_strip() -> None:
    # given a 40x4000 strip (a 320-wide thumbnail of all of it would be 32000 tall)
    strip = Image.new("RGB", (40, 4000), "white")
    ImageDraw.Draw(strip).rectangle((0, 1700, 39, 2299), fill="black")
    out = io.BytesIO()
    strip.save(out, "PNG")

    # when the pipeline renders it
    rendered = {i.name: i for i in PillowImagePipeline(max_pixels=10**8).render(out.getvalue())}

    # then the thumbnail is 320 wide and three times as tall, showing the strip's middle
    with Image.open(io.BytesIO(rendered["thumbnail"].data)) as thumbnail:
        assert thumbnail.size == (320, 960)
        expected = ImageOps.fit(strip, (320, 960), Image.Resampling.LANCZOS)
        assert mean_difference(thumbnail, expected) < 6


def camera_jpeg(mode: str, size: tuple[int, int], orientation: int) -> bytes:
    """A detailed JPEG (noise over a gradient) stored with an EXIF orientation."""
    width, height = size
    noise = random.Random(orientation).randbytes(width * height * len(mode))
    gradient = Image.linear_gradient("L").resize(size).convert(mode)
    image = Image.blend(Image.frombytes(mode, size, noise), gradient, 0.6)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def decoded_pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.mode, image.size, image.tobytes()


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize(
    ("mode", "size"),
    [("RGB", (1001, 603)), ("L", (617, 1283))],
    ids=["rgb-odd-size", "gray-odd-size"],
)
def test_the_original_is_exactly_a_one_shot_encode_of_the_upright_image(
    orientation: int, mode: str, size: tuple[int, int]
) -> None:
    # given a camera JPEG whose sides are not multiples of 16, stored with an orientation
    data = camera_jpeg(mode, size, orientation)

    # when the pipeline renders it
    rendered = {i.name: i for i in PillowImagePipeline(max_pixels=10**8).render(data)}

    # then the original decodes to exactly the pixels of the upright image encoded in one go
    with Image.open(io.BytesIO(data)) as source:
        upright = ImageOps.exif_transpose(source).convert("RGB")
    one_shot = io.BytesIO()
    upright.save(one_shot, "JPEG", quality=JPEG_QUALITY, subsampling="4:2:0")
    original = rendered["original"]
    assert decoded_pixels(original.data) == decoded_pixels(one_shot.getvalue())
    assert (original.width, original.height) == upright.size
    with Image.open(io.BytesIO(original.data)) as made:
        made.verify()
    with Image.open(io.BytesIO(original.data)) as made:
        assert made.format == "JPEG"
        assert made.mode == "RGB"
        assert not made.getexif()
        assert not made.info.get("exif")


def test_a_wide_sideways_photo_is_shrunk_to_the_longest_side_allowed_then_turned() -> None:
    # given a 4400x1100 photo stored sideways (its long side over the 4096 allowed)
    image = Image.new("RGB", (4400, 1100), "white")
    ImageDraw.Draw(image).rectangle((0, 0, 2199, 1099), fill="red")
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif.tobytes())

    # when the pipeline renders it
    rendered = {i.name: i for i in PillowImagePipeline(max_pixels=10**8).render(out.getvalue())}

    # then the original is upright, 4096 on its long side, red on top
    original = rendered["original"]
    assert (original.width, original.height) == (1024, 4096)
    with Image.open(io.BytesIO(out.getvalue())) as source:
        expected = ImageOps.exif_transpose(source).resize((1024, 4096), Image.Resampling.LANCZOS)
    with Image.open(io.BytesIO(original.data)) as made:
        assert made.size == (1024, 4096)
        assert mean_difference(made, expected) < 6
