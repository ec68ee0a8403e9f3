"""Errors of the library domain (the shared kinds; the HTTP layer maps them to status codes)."""

from shared.errors import Conflict, DomainError, Invalid, NotFound

LibraryError = DomainError

__all__ = ["Conflict", "Invalid", "LibraryError", "NotFound"]
