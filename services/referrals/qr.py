"""QR codes of short links, so a fan can share offline and still be credited."""

from __future__ import annotations

import io
from functools import lru_cache

import segno

SVG = "image/svg+xml"
PNG = "image/png"


@lru_cache(maxsize=4096)
def qr_image(url: str, kind: str) -> bytes:
    """The QR code of ``url`` as SVG or PNG bytes (cached: a short URL never changes)."""
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=8, border=4, xmldecl=False)
    else:
        code.save(out, kind="png", scale=10, border=4)
    return out.getvalue()
