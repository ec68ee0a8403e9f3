"""Errors a use case raises to refuse a request; each carries its HTTP status and a stable code.

Messages are Chinese first, then English (``"工单不存在 / no ticket"``). The edge answers any
uncaught one as RFC 9457 problem+json (``shared/web/problems.py``) with the status and code here;
``code`` is what clients branch on, so it never changes once published (docs/errors.md).
"""

from __future__ import annotations


class DomainError(Exception):
    """A refused request (400 unless a subclass says otherwise)."""

    status = 400
    code = "refused"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class Forbidden(DomainError):
    """The caller may not do this to this thing (403)."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """Something named in the request does not exist (404)."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """An illegal state change or a broken rule (409)."""

    status = 409
    code = "conflict"


class Invalid(DomainError):
    """Input that can never be accepted (422)."""

    status = 422
    code = "invalid"


class TooLarge(DomainError):
    """A body, file or image over its limit (413)."""

    status = 413
    code = "too_large"
