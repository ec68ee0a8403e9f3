"""Errors the tickets use cases raise (the shared kinds; the HTTP layer maps them to status codes)."""

from shared.errors import Conflict, DomainError, Forbidden, Invalid, NotFound

TicketError = DomainError

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "TicketError"]
