"""The sign-up's check-in code drawn as a QR image for the resident's phone (segno: pure Python, no native code).

Always a full QR Code, never a Micro QR (segno picks Micro for short texts with ``make``, and phone scanners and
most door readers do not read those); error correction M (15 %), enough for a cracked screen or glare.
"""

from __future__ import annotations

import io
from typing import Literal

import segno

Kind = Literal["png", "svg"]
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}


def render(code: str, kind: Kind = "png", scale: int = 8) -> tuple[bytes, str]:
    """The QR image of ``code`` (``scale`` pixels per module, the standard 4-module quiet zone) and its media type."""
    symbol = segno.make_qr(code, error="m", boost_error=False)
    out = io.BytesIO()
    if kind == "svg":
        symbol.save(out, kind="svg", scale=scale, border=4, title="签到码 / check-in code")
    else:
        symbol.save(out, kind="png", scale=scale, border=4)
    return out.getvalue(), MEDIA[kind]
