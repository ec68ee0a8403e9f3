"""Content-addressed photo storage on disk: ``<var_dir>/media/tickets/<aa>/<sha256>.<ext>``.

Photos are re-encoded with Pillow so EXIF (GPS position, camera, owner) never reaches the disk.
An S3-compatible store can replace this class later (same three methods).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from services.tickets.domain.media import BadPhoto, check_photo

EXT = {"jpeg": "jpg", "png": "png", "webp": "webp"}
PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


@dataclass(frozen=True)
class CleanPhoto:
    sha256: str
    kind: str
    data: bytes


def clean(name: str, raw: bytes) -> CleanPhoto:
    """Check an upload's bytes and return it re-encoded without metadata; raises :class:`BadPhoto`."""
    kind = check_photo(name, raw)
    try:
        with Image.open(io.BytesIO(raw)) as img:
            if img.format != PIL_FORMAT[kind]:
                raise BadPhoto(f"照片 {name} 内容与格式不符 / photo {name} is not a valid {kind} file", 415)
            img.load()
            upright = ImageOps.exif_transpose(img)
            out = io.BytesIO()
            if kind == "jpeg":
                upright.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
            else:
                upright.save(out, PIL_FORMAT[kind])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, BadPhoto):
            raise
        raise BadPhoto(f"照片 {name} 已损坏 / photo {name} cannot be decoded", 422) from None
    data = out.getvalue()
    return CleanPhoto(hashlib.sha256(data).hexdigest(), kind, data)


class PhotoStore:
    """Photos under one folder, named by the SHA-256 of their cleaned bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, kind: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{EXT[kind]}"

    def put(self, photo: CleanPhoto) -> bool:
        """Write a photo atomically; returns ``True`` if the file is new."""
        target = self.path(photo.sha256, photo.kind)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".up-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(photo.data)
        os.replace(tmp, target)
        return True

    def remove(self, photo: CleanPhoto) -> None:
        self.path(photo.sha256, photo.kind).unlink(missing_ok=True)
