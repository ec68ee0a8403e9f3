"""Uploaded photos: checked and cleaned (EXIF removed, display copy made) before a unit of work uses them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import or_
from sqlmodel import Session, col, select

from services.tickets.adapters.orm import Category, Ticket, TicketPhoto
from services.tickets.adapters.photo_store import PhotoStoreUnavailable
from services.tickets.adapters.photos import EXT, CleanPhoto, clean
from services.tickets.domain import links
from services.tickets.domain.media import MAX_PHOTOS, BadPhoto
from services.tickets.service_layer.common import photo_store
from services.tickets.service_layer.scope import is_private
from shared.errors import DomainError, Invalid, NotFound, TooLarge
from shared.service import ServiceContext

KIND_OF_EXT = {v: k for k, v in EXT.items()}


class UnsupportedPhoto(DomainError):
    """A file that is not a JPEG, PNG or WebP image (415)."""

    status = 415
    code = "photo_type"


class PhotosUnavailable(DomainError):
    """The object store holding photos does not answer (503): the report is not taken, nothing is stored."""

    status = 503
    code = "photo_store_unavailable"


def _refusal(exc: BadPhoto) -> DomainError:
    kind = {413: TooLarge, 415: UnsupportedPhoto}.get(exc.status, Invalid)
    return kind(str(exc), code=exc.code)


def clean_photos(files: list[tuple[str, bytes]], ctx: ServiceContext | None = None) -> list[CleanPhoto]:
    """Check and strip every photo before anything is stored (all or nothing); slow, run it in a thread.

    With ``ctx`` and a remote photo store (S3), the cleaned photos are uploaded here too, in the same
    thread and before the unit of work, so that no transaction waits on the network.
    """
    if len(files) > MAX_PHOTOS:
        raise TooLarge(f"最多 {MAX_PHOTOS} 张照片 / at most {MAX_PHOTOS} photos per report", code="too_many_photos")
    try:
        photos = [clean(name, data) for name, data in files]
    except BadPhoto as exc:
        raise _refusal(exc) from None
    if ctx is not None and (store := photo_store(ctx)).remote:
        try:
            for photo in photos:
                store.put(photo)
        except PhotoStoreUnavailable:
            raise PhotosUnavailable(
                "照片存储暂时不可用，请稍后再试 / photos cannot be stored right now, try again later"
            ) from None
    return photos


def stored_file(ctx: ServiceContext, sha256: str, ext: str, ttl_s: int = 3600) -> tuple[Path | str, str]:
    """Where a stored photo is (its file, or a URL of the object store valid ``ttl_s`` seconds) and its
    media type; 404 when there is none."""
    kind = KIND_OF_EXT.get(ext)
    found = photo_store(ctx).locate(sha256, kind, ttl_s) if kind else None
    if kind is None or found is None:
        raise NotFound("照片不存在 / no such photo")
    return found, f"image/{kind}"


def is_public_photo(session: Session, sha256: str) -> bool:
    """Whether a stored file (an original or a display copy) belongs to a public ticket.

    Content-addressed files may be shared by tickets: one public ticket makes the file public.
    """
    rows = session.exec(
        select(Ticket, Category)
        .join(TicketPhoto, col(TicketPhoto.ticket_id) == col(Ticket.id))
        .outerjoin(Category, col(Category.code) == col(Ticket.category))
        .where(or_(col(TicketPhoto.sha256) == sha256, col(TicketPhoto.display_sha256) == sha256))
    ).all()
    return any(not is_private(ticket, category) for ticket, category in rows)


def readable(session: Session, name: str, expires: int | None, sig: str | None, key: str, now: datetime) -> int | None:
    """For how many seconds a cache may keep the photo ``name`` (``None``: for good); 404 if it may not be served.

    A public ticket's photo: anyone, cached for good (``None``). A private ticket's photo: only with a
    valid signed link (:mod:`services.tickets.domain.links`), cached privately until it expires;
    without one it answers as if it did not exist.
    """
    if is_public_photo(session, name.partition(".")[0]):
        return None
    if links.valid(name, expires, sig, key, now):
        return max(0, int((expires or 0) - now.timestamp()))
    raise NotFound("照片不存在 / no such photo")
