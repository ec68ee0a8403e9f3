"""Photo rules with no I/O: type from the bytes' signature, size, pixel and count limits."""

from __future__ import annotations

MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
"""The most pixels a photo may have (a phone's 48 MP sensor bins to 12 MP); checked from the header."""
DISPLAY_SIDE = 1600
"""The longest side of the copy views link (the original stays as uploaded, re-encoded)."""
MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class BadPhoto(ValueError):
    """A photo that is refused (HTTP 4xx): the message says why, in Chinese and English."""

    def __init__(self, message: str, status: int = 422, code: str = "bad_photo") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def sniff(data: bytes) -> str | None:
    """``jpeg``, ``png`` or ``webp`` from the magic bytes (never from the file name), else ``None``."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def check_photo(name: str, data: bytes) -> str:
    """Validate one upload; returns its kind or raises :class:`BadPhoto`."""
    if len(data) > MAX_PHOTO_BYTES:
        raise BadPhoto(f"照片 {name} 超过 10 MB / photo {name} is larger than 10 MB", 413, "photo_too_large")
    if not data:
        raise BadPhoto(f"照片 {name} 是空文件 / photo {name} is empty", 422, "photo_empty")
    kind = sniff(data)
    if kind is None:
        raise BadPhoto(
            f"照片 {name} 不是 JPEG/PNG/WebP 图片 / photo {name} is not a JPEG, PNG or WebP image", 415, "photo_type"
        )
    return kind


def check_pixels(name: str, width: int, height: int) -> None:
    """Refuse a photo whose header announces more than :data:`MAX_PIXELS` (before it is decoded)."""
    if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
        raise too_many_pixels(name)


def too_many_pixels(name: str) -> BadPhoto:
    """The refusal of a photo over :data:`MAX_PIXELS` (a decompression bomb, or just too big)."""
    return BadPhoto(
        f"照片 {name} 像素过多（最多 {MAX_PIXELS // 1_000_000} 百万像素）/ photo {name} has more than "
        f"{MAX_PIXELS // 1_000_000} megapixels",
        413,
        "photo_pixels",
    )


def display_size(width: int, height: int, side: int = DISPLAY_SIDE) -> tuple[int, int] | None:
    """The size of the display copy, or ``None`` when the photo is small enough to show as it is."""
    longest = max(width, height)
    if longest <= side:
        return None
    return max(1, round(width * side / longest)), max(1, round(height * side / longest))
