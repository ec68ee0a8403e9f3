"""Errors of the volunteers domain (the shared kinds; the HTTP layer maps them to status codes)."""

from shared.errors import Conflict, DomainError, Forbidden, Invalid, NotFound

VolunteersError = DomainError

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "VolunteersError"]
