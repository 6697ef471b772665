"""The rendition chain: every rendition shows the centred part of the upright picture."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageOps, ImageStat

from services.content.imaging import CROPPED_RENDITIONS, PillowImagePipeline


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


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
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
