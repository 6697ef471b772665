"""A JPEG encoded band by band is exactly the JPEG of the whole transposed image."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, JpegImagePlugin

from services.content.jpeg_bands import encode_transposed_jpeg, transposed_size

QUALITY = 85
TRANSPOSES = list(Image.Transpose)


def noisy_image(mode: str, size: tuple[int, int], seed: int = 7) -> Image.Image:
    """Random pixels over a gradient: any band misplaced or mis-turned changes the file."""
    width, height = size
    channels = len(mode)
    noise = random.Random(seed).randbytes(width * height * channels)
    image = Image.frombytes(mode, size, noise)
    gradient = Image.linear_gradient("L").resize(size).convert(mode)
    return Image.blend(image, gradient, 0.6)


def one_shot(image: Image.Image, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY, subsampling="4:2:0", **options)
    return out.getvalue()


def pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.mode, image.size, image.tobytes()


@pytest.mark.parametrize("transpose", TRANSPOSES, ids=lambda transpose: transpose.name)
@pytest.mark.parametrize(
    ("mode", "size"),
    [
        ("RGB", (333, 203)),  # neither side a multiple of 16; short last band
        ("RGB", (256, 384)),  # whole MCUs, whole bands
        ("L", (201, 77)),  # grayscale: 8-row MCUs
    ],
    ids=["rgb-odd", "rgb-whole-bands", "gray-odd"],
)
def test_the_stitched_bands_are_the_one_shot_jpeg_of_the_transposed_image(
    transpose: Image.Transpose, mode: str, size: tuple[int, int]
) -> None:
    # given an image to be turned or flipped, in bands of one restart cycle (8 MCU rows)
    source = noisy_image(mode, size)
    turned = source.transpose(transpose)

    # when it is encoded band by band
    stitched = encode_transposed_jpeg(source, transpose, quality=QUALITY, band_cycles=1)

    # then the file is byte for byte one encode of the turned image with restart markers ...
    assert stitched == one_shot(turned, restart_marker_rows=1)
    # ... so it decodes to exactly the pixels of a plain one-shot encode
    assert pixels(stitched) == pixels(one_shot(turned))
    with Image.open(io.BytesIO(stitched)) as decoded:
        assert decoded.size == turned.size == transposed_size(source.size, transpose)
        assert decoded.mode == mode
        if mode == "RGB":
            assert JpegImagePlugin.get_sampling(decoded) == 2  # 4:2:0
        assert not decoded.info.get("exif")
        assert not decoded.getexif()


def test_many_bands_keep_the_restart_markers_in_sequence() -> None:
    # given a tall result: 40 bands of 128 rows, so RST0..RST7 wrap around many times
    source = noisy_image("RGB", (5120, 24))

    # when it is turned a quarter and encoded in bands
    stitched = encode_transposed_jpeg(
        source, Image.Transpose.ROTATE_270, quality=QUALITY, band_cycles=1
    )

    # then every restart marker follows the previous one modulo 8, and the pixels are exact
    turned = source.transpose(Image.Transpose.ROTATE_270)
    restarts = [stitched[i + 1] - 0xD0 for i in _marker_positions(stitched)]
    assert len(restarts) == 5120 // 16 - 1
    assert restarts == [index % 8 for index in range(len(restarts))]
    assert pixels(stitched) == pixels(one_shot(turned))


def test_an_image_smaller_than_a_band_is_one_band() -> None:
    # given an image smaller than one band, at the default band height
    source = noisy_image("RGB", (37, 45))

    # when it is turned
    stitched = encode_transposed_jpeg(source, Image.Transpose.ROTATE_90, quality=QUALITY)

    # then it is the one-shot encode
    turned = source.transpose(Image.Transpose.ROTATE_90)
    assert stitched == one_shot(turned, restart_marker_rows=1)


def test_an_image_with_transparency_is_not_encoded_in_bands() -> None:
    # given an RGBA image (its original is a PNG)
    source = Image.new("RGBA", (20, 20))

    # when it is given to the band encoder, then it is refused, not written without alpha
    with pytest.raises(ValueError, match="RGBA"):
        encode_transposed_jpeg(source, Image.Transpose.ROTATE_90, quality=QUALITY)


def _marker_positions(jpeg: bytes) -> list[int]:
    """Where the restart markers (FFD0-FFD7) are in the entropy-coded data."""
    positions = []
    start = jpeg.index(b"\xff\xda")
    position = jpeg.find(b"\xff", start + 2 + int.from_bytes(jpeg[start + 2 : start + 4], "big"))
    while position != -1:
        if 0xD0 <= jpeg[position + 1] <= 0xD7:
            positions.append(position)
        position = jpeg.find(b"\xff", position + 1)
    return positions
