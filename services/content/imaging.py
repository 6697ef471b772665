"""The Pillow image pipeline: header checks for uploads, renditions from one decode.

Uploads are checked in layers before anything is decoded: the format is
sniffed from the magic bytes (never the name or the declared type), Pillow
opens the file with that one decoder only, and the header's dimensions are
held against the pixel limit. Decoding happens later, in the worker: the
image is decoded once (JPEG at a reduced DCT scale when the original need not
be full size) and converted to sRGB; the original is encoded upright band by
band (``jpeg_bands``: no second full-size image for the EXIF turn); the
un-turned image is reduced once by a whole factor and freed, the small
reduction is turned, and each smaller rendition is cropped and resized from
it. Nothing of the source's metadata is written.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageCms, UnidentifiedImageError

from services.content.interfaces import ImageInfo, ImageRejected, RenderedImage
from services.content.jpeg_bands import BandMismatch, encode_transposed_jpeg, transposed_size

CONTENT_TYPES: Final = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
ORIGINAL_MAX_SIDE: Final = 4096
JPEG_QUALITY: Final = 85
# Modes written as JPEG; anything else (RGBA: real transparency) is written as PNG.
JPEG_MODES: Final = ("RGB", "L")
ORIENTATION_TAG: Final = 0x0112
# The thumbnail keeps the aspect ratio up to three times as tall as wide.
THUMBNAIL_MAX_ASPECT: Final = 3


@dataclass(frozen=True)
class RenditionSpec:
    """A rendition's name and box; a zero height means "keep the aspect ratio"."""

    name: str
    width: int
    height: int


CROPPED_RENDITIONS: Final = (
    RenditionSpec("story", 1080, 1920),
    RenditionSpec("square", 1080, 1080),
    RenditionSpec("social_card", 1200, 630),
    RenditionSpec("thumbnail", 320, 0),
)
RENDITION_NAMES: Final = ("original", *(spec.name for spec in CROPPED_RENDITIONS))

_TRANSPOSE_FOR_ORIENTATION: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SRGB_PROFILE: Final = ImageCms.createProfile("sRGB")
_BROKEN_EXIF_ERRORS: Final = (
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    SyntaxError,
    EOFError,
    struct.error,
    UnicodeDecodeError,
)


def sniff_format(head: bytes) -> str | None:
    """The image format the first bytes announce, if it is one we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def unsupported_type() -> ImageRejected:
    return ImageRejected(
        "Upload a JPEG, PNG, WebP or GIF image; the file's bytes are none of these.",
        code="UNSUPPORTED_MEDIA_TYPE",
        status=415,
    )


def unreadable(detail: str) -> ImageRejected:
    return ImageRejected(
        f"The image could not be read ({detail}); export it again and re-upload.",
        code="IMAGE_UNREADABLE",
        status=422,
    )


def too_many_pixels(width: int, height: int, limit: int) -> ImageRejected:
    return ImageRejected(
        f"The image is {width}x{height} pixels; at most {limit:,} pixels are accepted. "
        "Scale it down and re-upload.",
        code="IMAGE_TOO_LARGE",
        status=422,
    )


class PillowImagePipeline:
    """:class:`~services.content.interfaces.ImagePipeline` on Pillow."""

    def __init__(self, *, max_pixels: int) -> None:
        self.max_pixels = max_pixels
        # Pillow's own bomb check (on open and on every GIF frame) uses this
        # process-wide limit; one pipeline per process is built from settings.
        Image.MAX_IMAGE_PIXELS = max_pixels

    def inspect(self, data: bytes) -> ImageInfo:
        """Sniff the bytes and read the header with the matching decoder only."""
        image_format = sniff_format(data[:16])
        if image_format is None:
            raise unsupported_type()
        with self._open(data, image_format) as image:
            width, height = image.size
        if image_format == "GIF":
            self._check_gif_frames(data)
        return ImageInfo(
            format=image_format,
            content_type=CONTENT_TYPES[image_format],
            width=width,
            height=height,
        )

    def render(self, data: bytes) -> list[RenderedImage]:
        """Decode once, convert to sRGB, and make every rendition upright."""
        image_format = sniff_format(data[:16])
        if image_format is None:
            raise unsupported_type()
        source = self._open(data, image_format)
        _draft_for_original(source)
        try:
            source.load()
            # After the decode: a PNG's EXIF may follow its pixels, and reading it
            # first would decode the image outside this guard.
            orientation = _orientation(source)
            working = _to_srgb(source)
        except (OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
            raise unreadable(str(exc) or type(exc).__name__) from exc
        del source
        working.info = {}  # crops and reductions copy info; nothing of it is written
        if max(working.size) > ORIGINAL_MAX_SIDE:
            # The long side is the same either way round: shrink before turning.
            working.thumbnail((ORIGINAL_MAX_SIDE, ORIGINAL_MAX_SIDE), Image.Resampling.LANCZOS)
        turn = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
        original = _encode_original(working, turn)
        factor = _cover_factor(transposed_size(working.size, turn))
        if original.content_type == "image/jpeg" and factor > 1:
            # Every smaller rendition covers less than half the original's size:
            # free the full-size image, and decode the upright original just made
            # at a reduced DCT scale (libjpeg's draft mode), so a reduction never
            # lives beside the full-size image and nothing small is turned.
            del working
            reduced = _decode_reduced(original.data, factor)
        else:
            # One box reduction by a whole factor of the un-turned image, which is
            # then freed; only the small reduction is turned.
            reduced = working.reduce(factor) if factor > 1 else working
            del working
            reduced = _orient(reduced, turn)
        # Each rendition is its centred crop of the reduction, resized in one pass.
        rendered = [original]
        for spec in CROPPED_RENDITIONS:
            rendered.append(_encode(spec.name, _fit(reduced, spec)))
        return rendered

    def _check_gif_frames(self, data: bytes) -> None:
        """Refuse a GIF whose later frames grow the canvas past the pixel limit.

        Pillow enlarges a GIF's canvas to fit any frame, and only checks when it
        reaches that frame; the descriptors are read here without decoding.
        """
        try:
            canvas = _gif_canvas_size(data)
        except (IndexError, ValueError) as exc:
            raise unreadable("its frames are malformed") from exc
        if canvas[0] * canvas[1] > self.max_pixels:
            raise too_many_pixels(canvas[0], canvas[1], self.max_pixels)

    def _open(self, data: bytes, image_format: str) -> Image.Image:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(data), formats=[image_format])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected(
                f"The image declares more pixels than the {self.max_pixels:,} accepted.",
                code="IMAGE_TOO_LARGE",
                status=422,
            ) from exc
        except UnidentifiedImageError as exc:
            raise unreadable("its header is not valid") from exc
        except (OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
            raise unreadable(str(exc) or type(exc).__name__) from exc
        width, height = image.size
        if width < 1 or height < 1:
            image.close()
            raise unreadable("it has no pixels")
        if width * height > self.max_pixels:
            image.close()
            raise too_many_pixels(width, height, self.max_pixels)
        return image


def _gif_canvas_size(data: bytes) -> tuple[int, int]:
    """The canvas a GIF needs once every frame is placed (GIF89a block structure)."""
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while position < len(data):
        block = data[position]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then data sub-blocks
            position = _skip_sub_blocks(data, position + 2)
        elif block == 0x2C:  # image descriptor
            left, top, frame_width, frame_height, frame_flags = struct.unpack_from(
                "<HHHHB", data, position + 1
            )
            width = max(width, left + frame_width)
            height = max(height, top + frame_height)
            position += 10
            if frame_flags & 0x80:
                position += 3 << ((frame_flags & 7) + 1)
            position = _skip_sub_blocks(data, position + 1)  # after the LZW code size
        else:
            raise ValueError(f"unknown GIF block 0x{block:02x}")
    return width, height


def _skip_sub_blocks(data: bytes, position: int) -> int:
    while True:
        size = data[position]
        position += 1 + size
        if size == 0:
            return position


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except _BROKEN_EXIF_ERRORS:
        # Broken EXIF is common in camera files; the pixels are still fine. Only
        # parse errors are meant: a time limit or MemoryError must reach the task.
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _draft_for_original(image: Image.Image) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the original need not be full size.

    The scale is the largest that keeps the long side at three quarters of the
    original's maximum or more, so the draft never costs visible detail.
    """
    if image.format != "JPEG" or image.mode not in ("RGB", "L"):
        return
    width, height = image.size
    scale = 1
    while scale < 8 and max(width, height) / (scale * 2) >= ORIGINAL_MAX_SIDE * 3 / 4:
        scale *= 2
    if scale > 1:
        image.draft(image.mode, (-(-width // scale), -(-height // scale)))


def _to_srgb(image: Image.Image) -> Image.Image:
    """Pixels as RGB or RGBA in sRGB, whatever the source's mode and ICC profile."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    target = "RGBA" if has_alpha else "RGB"
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(image, profile, _SRGB_PROFILE, outputMode=target)
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None  # an unusable profile: fall back to a plain conversion
        if converted is not None:
            return _drop_opaque_alpha(converted)
    if image.mode != target:
        image = image.convert(target)
    return _drop_opaque_alpha(image)


def _drop_opaque_alpha(image: Image.Image) -> Image.Image:
    if image.mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        return image.convert("RGB")
    return image


def _orient(image: Image.Image, turn: Image.Transpose | None) -> Image.Image:
    return image if turn is None else image.transpose(turn)


def _encode_original(image: Image.Image, turn: Image.Transpose | None) -> RenderedImage:
    """The original, upright: a JPEG turned band by band, anything else turned whole."""
    if turn is not None and image.mode in JPEG_MODES:
        try:
            data = encode_transposed_jpeg(image, turn, quality=JPEG_QUALITY)
        except BandMismatch:
            pass  # an encoder we do not know: the one-piece turn below is always right
        else:
            width, height = transposed_size(image.size, turn)
            return RenderedImage(
                name="original",
                width=width,
                height=height,
                content_type="image/jpeg",
                data=data,
            )
    return _encode("original", _orient(image, turn))


def _decode_reduced(jpeg: bytes, factor: int) -> Image.Image:
    """Our own JPEG decoded at 1/2, 1/4 or 1/8 scale: at most ``factor`` times smaller."""
    image = Image.open(io.BytesIO(jpeg), formats=["JPEG"])
    scale = 1
    while scale < 8 and scale * 2 <= factor:
        scale *= 2
    width, height = image.size
    image.draft(image.mode, (-(-width // scale), -(-height // scale)))
    image.load()
    return image


def _cover_scale(size: tuple[int, int], spec: RenditionSpec) -> float:
    """How much ``size`` must be scaled for its centred crop to fill the rendition."""
    width, height = size
    if spec.height == 0:
        return spec.width / width
    return max(spec.width / width, spec.height / height)


def _cover_factor(size: tuple[int, int]) -> int:
    """The largest whole factor an image of ``size`` can be reduced by and still cover
    every rendition."""
    largest_scale = max(_cover_scale(size, spec) for spec in CROPPED_RENDITIONS)
    return int(1 / largest_scale) if largest_scale < 1 else 1


def _fit(image: Image.Image, spec: RenditionSpec) -> Image.Image:
    """The rendition: the centred box of its aspect ratio, resized to its size."""
    width, height = image.size
    if spec.height == 0:
        natural_height = max(1, round(height * spec.width / width))
        if natural_height > spec.width * THUMBNAIL_MAX_ASPECT:
            # A sliver of a panorama would make a thumbnail of hundreds of
            # megapixels: keep its centred part, at most 1:THUMBNAIL_MAX_ASPECT.
            return _fit(
                image, RenditionSpec(spec.name, spec.width, spec.width * THUMBNAIL_MAX_ASPECT)
            )
        size = (spec.width, natural_height)
        box = (0.0, 0.0, float(width), float(height))
    else:
        size = (spec.width, spec.height)
        scale = _cover_scale(image.size, spec)
        crop_width, crop_height = spec.width / scale, spec.height / scale
        left = max(0.0, (width - crop_width) / 2)
        top = max(0.0, (height - crop_height) / 2)
        # min(): float rounding must never put the box past the image's edge.
        right = min(float(width), left + crop_width)
        bottom = min(float(height), top + crop_height)
        box = (left, top, right, bottom)
    # Antialiased bilinear, with a box reduction first when the step is over 2x:
    # close to Lanczos for downscaling, several times faster.
    return image.resize(size, Image.Resampling.BILINEAR, box=box, reducing_gap=2.0)


def _encode(name: str, image: Image.Image) -> RenderedImage:
    """Encode without any of the source's metadata (EXIF, GPS, XMP, ICC, comments)."""
    out = io.BytesIO()
    # info travels with every derived image; an empty one guarantees nothing is carried.
    image.info = {}
    if image.mode not in JPEG_MODES:
        image.save(out, "PNG", optimize=False, compress_level=6)
        content_type = "image/png"
    else:
        image.save(out, "JPEG", quality=JPEG_QUALITY, subsampling="4:2:0")
        content_type = "image/jpeg"
    return RenderedImage(
        name=name,
        width=image.width,
        height=image.height,
        content_type=content_type,
        data=out.getvalue(),
    )
