"""Errors a use case raises to refuse a request; each carries its HTTP status.

Messages are Chinese first, then English (``"工单不存在 / no ticket T1"``). The runtime answers
any uncaught one with ``{"detail": message}`` and its status.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused request (400 unless a subclass says otherwise)."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Forbidden(DomainError):
    """The caller may not do this to this thing (403)."""

    status = 403


class NotFound(DomainError):
    """Something named in the request does not exist (404)."""

    status = 404


class Conflict(DomainError):
    """An illegal state change or a broken rule (409)."""

    status = 409


class Invalid(DomainError):
    """Input that can never be accepted (422)."""

    status = 422
