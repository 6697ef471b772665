"""A turned or flipped JPEG encoded band by band, without a second full-size image.

Pillow cannot transpose in place: turning a 12-megapixel photo for its EXIF
orientation makes a second 46 MB image before the encoder sees a pixel. Here
the output is cut into horizontal bands instead; each band is cropped from the
source, transposed while it is small (and in the CPU's cache), and encoded as a
baseline JPEG of its own with a restart marker after every MCU row. The bands'
entropy-coded segments are then stitched into one JPEG: the first band's
headers (SOF0 height patched to the whole image) and each band's scan, joined
by the restart marker that comes next in sequence.

This is exact, not an approximation: with the same quality, subsampling and
standard Huffman tables every band's headers are identical, libjpeg neither
smooths nor pads across MCU rows, and the DC predictor starts at zero after a
restart marker just as it does at the start of a band. So the stitched file is
byte for byte what one encode of the whole transposed image with a restart
marker every MCU row would write (``tests/content/test_jpeg_bands.py``).
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image

SUBSAMPLING: Final = "4:2:0"
# Restart markers are numbered modulo 8: a band of a multiple of 8 MCU rows
# leaves the numbering where the next band's own encoder starts it (RST0).
RESTART_CYCLE: Final = 8
# Bands of 16 cycles: 256 rows of a 4:2:0 image, ~3 MB for a 3000-wide band.
CYCLES_PER_BAND: Final = 2
SOI: Final = b"\xff\xd8"
EOI: Final = b"\xff\xd9"
SOF0: Final = 0xC0
SOS: Final = 0xDA

_TURNS: Final = frozenset(
    {
        Image.Transpose.TRANSPOSE,
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_270,
        Image.Transpose.TRANSVERSE,
    }
)


class BandMismatch(Exception):
    """The bands' headers differ (a Pillow or libjpeg change); encode in one piece instead."""


def transposed_size(size: tuple[int, int], transpose: Image.Transpose | None) -> tuple[int, int]:
    width, height = size
    return (height, width) if transpose in _TURNS else (width, height)


def encode_transposed_jpeg(
    source: Image.Image, transpose: Image.Transpose, *, quality: int, band_cycles: int = 0
) -> bytes:
    """``source.transpose(transpose)`` as a baseline JPEG, made band by band.

    ``source`` is RGB or L; the file has no metadata and a restart marker after
    every MCU row. ``band_cycles`` (restart cycles of 8 MCU rows per band) is
    for tests that need many bands from a small image.
    """
    if source.mode not in ("RGB", "L"):
        raise ValueError(f"a {source.mode} image cannot be encoded as a JPEG band by band")
    height = transposed_size(source.size, transpose)[1]
    mcu_height = 16 if source.mode == "RGB" else 8  # 4:2:0 halves chroma rows
    mcu_rows_per_band = RESTART_CYCLE * (band_cycles or CYCLES_PER_BAND)
    band_height = mcu_height * mcu_rows_per_band
    scratch = io.BytesIO()
    out = io.BytesIO()
    first_header = b""
    for index, top in enumerate(range(0, height, band_height)):
        bottom = min(top + band_height, height)
        band = source.crop(_source_box(source.size, transpose, top, bottom))
        band = band.transpose(transpose)
        band.info = {}
        scratch.seek(0)
        scratch.truncate()
        band.save(scratch, "JPEG", quality=quality, subsampling=SUBSAMPLING, restart_marker_rows=1)
        del band
        encoded = scratch.getbuffer()
        try:
            header_end, sof = _scan_start(encoded)
            header = bytes(encoded[:header_end])
            if index == 0:
                first_header = _with_height(header, sof, height)
                out.write(first_header)
            else:
                if _with_height(header, sof, height) != first_header:
                    raise BandMismatch("a band's JPEG headers differ from the first band's")
                restart = (index * mcu_rows_per_band - 1) % RESTART_CYCLE
                out.write(bytes((0xFF, 0xD0 + restart)))
            out.write(encoded[header_end : len(encoded) - len(EOI)])
        finally:
            encoded.release()
    out.write(EOI)
    return out.getvalue()


def _source_box(
    size: tuple[int, int], transpose: Image.Transpose, top: int, bottom: int
) -> tuple[int, int, int, int]:
    """The part of the source that becomes rows ``top:bottom`` once transposed."""
    width, height = size
    if transpose == Image.Transpose.FLIP_LEFT_RIGHT:
        return (0, top, width, bottom)
    if transpose in (Image.Transpose.ROTATE_180, Image.Transpose.FLIP_TOP_BOTTOM):
        return (0, height - bottom, width, height - top)
    if transpose in (Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_270):
        return (top, 0, bottom, height)
    if transpose in (Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90):
        return (width - bottom, 0, width - top, height)
    raise ValueError(f"no banded encoding for {transpose!r}")


def _scan_start(jpeg: memoryview) -> tuple[int, int]:
    """Where the entropy-coded data begins, and where the SOF0 segment is."""
    if bytes(jpeg[:2]) != SOI or bytes(jpeg[-2:]) != EOI:
        raise BandMismatch("a band is not a complete JPEG")
    position, sof = 2, -1
    while position + 4 <= len(jpeg):
        if jpeg[position] != 0xFF:
            raise BandMismatch(f"no marker at byte {position} of a band's headers")
        marker = jpeg[position + 1]
        length = int.from_bytes(jpeg[position + 2 : position + 4], "big")
        if marker == SOF0:
            sof = position
        elif 0xC1 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            raise BandMismatch("a band is not a baseline JPEG")
        position += 2 + length
        if marker == SOS:
            if sof < 0:
                raise BandMismatch("a band has no SOF0 before its scan")
            return position, sof
    raise BandMismatch("a band has no scan")


def _with_height(header: bytes, sof: int, height: int) -> bytes:
    # SOF0: marker (2), length (2), precision (1), then the height (2, big-endian).
    return header[: sof + 5] + height.to_bytes(2, "big") + header[sof + 7 :]
