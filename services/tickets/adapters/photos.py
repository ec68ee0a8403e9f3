"""Content-addressed photo storage on disk: ``<var_dir>/media/tickets/<aa>/<sha256>.<ext>``.

Photos are re-encoded with Pillow so EXIF (GPS position, camera, owner) never reaches the disk.
The pixel count is read from the header before anything is decoded (a 50 KB PNG can announce
13,000 × 13,000 pixels). A photo larger than the display size also gets a display copy (longest side
1600 px), stored the same way, which views link instead of the original.

Files are named by the SHA-256 of their bytes and written atomically (temporary file, then rename);
they are never removed when a unit of work fails: the same upload writes the same file again, and
another ticket may share it. An S3-compatible store stands in for this class when configured
(``photo_store.py``).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from services.tickets.domain.media import BadPhoto, check_photo, check_pixels, display_size, too_many_pixels

EXT = {"jpeg": "jpg", "png": "png", "webp": "webp"}
PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


@dataclass(frozen=True)
class CleanPhoto:
    sha256: str
    kind: str
    data: bytes
    display: CleanPhoto | None = None
    """A smaller copy for views (``None`` when the photo itself is small enough)."""


def _encoded(img: Image.Image, kind: str) -> CleanPhoto:
    out = io.BytesIO()
    if kind == "jpeg":
        img.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
    else:
        img.save(out, PIL_FORMAT[kind])
    data = out.getvalue()
    return CleanPhoto(hashlib.sha256(data).hexdigest(), kind, data)


def clean(name: str, raw: bytes) -> CleanPhoto:
    """Check an upload's bytes and return it re-encoded without metadata; raises :class:`BadPhoto`."""
    kind = check_photo(name, raw)
    try:  # Pillow warns above 89 MP and raises above 179 MP; the header check refuses 40 MP before that
        with Image.open(io.BytesIO(raw)) as img:  # reads the header only
            if img.format != PIL_FORMAT[kind]:
                raise BadPhoto(
                    f"照片 {name} 内容与格式不符 / photo {name} is not a valid {kind} file", 415, "photo_type"
                )
            check_pixels(name, *img.size)
            img.load()
            upright = ImageOps.exif_transpose(img)
            photo = _encoded(upright, kind)
            smaller = display_size(*upright.size)
            if smaller is None:
                return photo
            copy = upright.convert("RGB") if upright.mode not in ("RGB", "L") else upright
            copy = copy.resize(smaller, Image.Resampling.LANCZOS)
            display = _encoded(copy, "webp" if kind == "webp" else "jpeg")
            return CleanPhoto(photo.sha256, photo.kind, photo.data, display)
    except BadPhoto:
        raise
    except Image.DecompressionBombError:
        raise too_many_pixels(name) from None  # Pillow's own guard, in case the header check is bypassed
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise BadPhoto(f"照片 {name} 已损坏 / photo {name} cannot be decoded", 422, "photo_broken") from None


class PhotoStore:
    """Photos under one folder, named by the SHA-256 of their cleaned bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, kind: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{EXT[kind]}"

    def put(self, photo: CleanPhoto) -> bool:
        """Write a photo (and its display copy) atomically; returns ``True`` if the file is new.

        Safe to repeat: the same bytes land under the same name, and an existing file is kept."""
        if photo.display is not None:
            self.put(photo.display)
        target = self.path(photo.sha256, photo.kind)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".up-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(photo.data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)  # only the temporary file, never a stored photo
            raise
        return True
