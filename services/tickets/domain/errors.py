"""Errors the use cases raise; the HTTP layer maps them to status codes."""

from __future__ import annotations


class TicketError(Exception):
    """Base: ``status`` is the HTTP status code, the message is bilingual."""

    status = 400


class NotFound(TicketError):
    status = 404


class Conflict(TicketError):
    status = 409


class Invalid(TicketError):
    status = 422


class Forbidden(TicketError):
    status = 403
