"""Where cleaned photos are kept: local disk (the default) or any S3-compatible object store.

Both keep the same content-addressed names (``<aa>/<sha256>.<ext>``) and the same two calls: ``put`` a
cleaned photo (safe to repeat; never removes anything) and ``locate`` one for the media route. Who may
see a photo is decided before either is asked, by one design: views give a private ticket's photos
HMAC-signed links of 15 minutes (:mod:`services.tickets.domain.links`) to ``/api/tickets/media/…``; the
route checks the link, then sends the file from disk, or redirects to the object store with a
presigned URL that expires no later than the link did. So the bucket stays private, photo URLs in
views, events and Open311 do not change with the backend, and a leaked presigned URL is as
short-lived as the link it came from.

S3-compatible: AWS S3, MinIO, Aliyun OSS, Tencent COS (``TICKETS_PHOTOS_*``, below). Credentials come
the standard way of boto3 (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` or a role), never from here.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.tickets.adapters.photos import EXT, CleanPhoto, PhotoStore
from shared.config import ENV_FILE

if TYPE_CHECKING:
    from botocore.client import BaseClient

CONTENT_TYPE = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


class PhotoStoreUnavailable(Exception):
    """The object store did not answer or refused the service (after boto3's retries)."""


class PhotoSettings(BaseSettings):
    """``TICKETS_PHOTOS_BACKEND=disk`` (default, under ``LINLI_VAR_DIR/media/tickets``) or ``s3``.

    For ``s3``: ``TICKETS_PHOTOS_BUCKET``; ``TICKETS_PHOTOS_ENDPOINT`` (MinIO ``http://minio:9000``,
    OSS ``https://oss-cn-beijing.aliyuncs.com``, COS ``https://cos.ap-beijing.myqcloud.com``; empty for AWS);
    ``TICKETS_PHOTOS_REGION``; ``TICKETS_PHOTOS_ADDRESSING`` (``path`` for MinIO, ``virtual`` for OSS and
    COS, ``auto``); ``TICKETS_PHOTOS_PREFIX`` (key prefix, ``tickets/``); ``TICKETS_PHOTOS_PUBLIC_ENDPOINT``
    (the address browsers reach the store at, when it differs from the one the service uses).
    """

    model_config = SettingsConfigDict(env_prefix="TICKETS_PHOTOS_", env_file=ENV_FILE, extra="ignore")

    backend: Literal["disk", "s3"] = "disk"
    bucket: str = ""
    endpoint: str = ""
    public_endpoint: str = ""
    region: str = "us-east-1"
    addressing: Literal["auto", "path", "virtual"] = "auto"
    prefix: str = "tickets/"


class PhotoStorage(Protocol):
    """What the tickets service needs of a photo store."""

    remote: bool
    """Whether ``put`` goes over the network: then routes store photos before their unit of work, so no
    upload runs inside a transaction (nor, on SQLite, on the event loop)."""

    def put(self, photo: CleanPhoto) -> bool:
        """Keep ``photo`` (and its display copy); ``True`` if it was not there. Safe to repeat."""
        ...

    def locate(self, sha256: str, kind: str, ttl_s: int) -> Path | str | None:
        """The file to send, or a URL valid for ``ttl_s`` seconds to redirect to; ``None`` if absent."""
        ...

    def delete(self, sha256: str, kind: str) -> None:
        """Remove a photo no row refers to any more (an erasure); nothing if it is not there."""
        ...


class DiskPhotos:
    """Photos in a folder (:class:`services.tickets.adapters.photos.PhotoStore`)."""

    remote = False

    def __init__(self, root: Path) -> None:
        self.files = PhotoStore(root)

    def put(self, photo: CleanPhoto) -> bool:
        return self.files.put(photo)

    def locate(self, sha256: str, kind: str, ttl_s: int) -> Path | None:
        path = self.files.path(sha256, kind)
        return path if path.exists() else None

    def delete(self, sha256: str, kind: str) -> None:
        self.files.path(sha256, kind).unlink(missing_ok=True)


class S3Photos:
    """Photos in a bucket of an S3-compatible store, under ``prefix``.

    ``put`` asks the store first (``HEAD``) and uploads only what is missing; names this process
    stored or found lately are remembered, so the same photo is not asked about again (a unit of work
    that runs twice, or the upload made before it, see ``service_layer/media.py``). ``locate`` does
    not ask the store at all: the database already knows the photo exists; it presigns a ``GET``.
    """

    remote = True

    def __init__(self, settings: PhotoSettings, *, client: BaseClient | None = None) -> None:
        if not settings.bucket:
            raise ValueError("TICKETS_PHOTOS_BUCKET is required with TICKETS_PHOTOS_BACKEND=s3")
        self.bucket = settings.bucket
        self.prefix = settings.prefix
        self.client = client or _client(settings, settings.endpoint)
        # presigning is local (no request): a client for the browsers' address when that differs
        self.signer = _client(settings, settings.public_endpoint) if settings.public_endpoint else self.client
        self._known: OrderedDict[str, None] = OrderedDict()
        self._lock = Lock()

    def key(self, sha256: str, kind: str) -> str:
        return f"{self.prefix}{sha256[:2]}/{sha256}.{EXT[kind]}"

    def put(self, photo: CleanPhoto) -> bool:
        if photo.display is not None:
            self.put(photo.display)
        key = self.key(photo.sha256, photo.kind)
        if self._seen(key):
            return False
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            new = not self._exists(key)
            if new:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=key,
                    Body=photo.data,
                    ContentType=CONTENT_TYPE[photo.kind],
                    CacheControl="private, max-age=31536000, immutable",  # the bytes of a name never change
                )
        except (BotoCoreError, ClientError) as exc:
            raise PhotoStoreUnavailable(exc.__class__.__name__) from exc
        self._remember(key)
        return new

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def locate(self, sha256: str, kind: str, ttl_s: int) -> str:
        url: str = self.signer.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.key(sha256, kind)},
            ExpiresIn=max(1, ttl_s),
        )
        return url

    def delete(self, sha256: str, kind: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(sha256, kind)
        with self._lock:
            self._known.pop(key, None)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)  # S3 answers 204 for a missing key too
        except (BotoCoreError, ClientError) as exc:
            raise PhotoStoreUnavailable(exc.__class__.__name__) from exc

    def _seen(self, key: str) -> bool:
        with self._lock:
            if key in self._known:
                self._known.move_to_end(key)
                return True
            return False

    def _remember(self, key: str) -> None:
        with self._lock:
            self._known[key] = None
            while len(self._known) > 10_000:
                self._known.popitem(last=False)


def _client(settings: PhotoSettings, endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": settings.addressing},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=3,
        read_timeout=10,
    )
    return boto3.client("s3", endpoint_url=endpoint or None, region_name=settings.region, config=config)


def open_photos(var_dir: Path, settings: PhotoSettings | None = None) -> PhotoStorage:
    """The photo store configured by ``TICKETS_PHOTOS_*`` (disk unless ``s3`` is asked for)."""
    settings = settings or PhotoSettings()
    if settings.backend == "s3":
        return S3Photos(settings)
    return DiskPhotos(var_dir / "media" / "tickets")
