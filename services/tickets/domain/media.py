"""Photo rules with no I/O: type from the bytes' signature, size and count limits."""

from __future__ import annotations

MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MEDIA_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class BadPhoto(ValueError):
    """A photo that is refused (HTTP 4xx): the message says why, in Chinese and English."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


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
        raise BadPhoto(f"照片 {name} 超过 10 MB / photo {name} is larger than 10 MB", 413)
    if not data:
        raise BadPhoto(f"照片 {name} 是空文件 / photo {name} is empty")
    kind = sniff(data)
    if kind is None:
        raise BadPhoto(f"照片 {name} 不是 JPEG/PNG/WebP 图片 / photo {name} is not a JPEG, PNG or WebP image", 415)
    return kind
