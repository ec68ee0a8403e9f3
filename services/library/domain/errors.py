"""Errors of the library domain; the HTTP layer maps them to status codes."""


class LibraryError(Exception):
    """A refused request; ``status`` is the HTTP status and the message is "中文 / English"."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(LibraryError):
    """Something named in the request does not exist (404)."""

    status = 404


class Invalid(LibraryError):
    """Input that can never be accepted (422)."""

    status = 422


class Conflict(LibraryError):
    """An illegal state change or a broken rule (limit reached, blocked reader)."""

    status = 409
