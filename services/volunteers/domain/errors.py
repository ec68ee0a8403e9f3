"""Errors of the volunteers domain; the HTTP layer maps each to its status code."""

from __future__ import annotations


class VolunteersError(Exception):
    """A refused request; ``message`` is Chinese first, then English."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(VolunteersError):
    status = 404


class Conflict(VolunteersError):
    status = 409


class Invalid(VolunteersError):
    status = 422


class Forbidden(VolunteersError):
    status = 403
