"""Where people live, as notify learns it from accounts' events, and the notices staff send by place.

notify keeps the least it needs to address a notice: a person's ``sub`` and their household's levels
(community, estate, building, unit, household), no name, phone or ID number. ``as_of`` is the time of
the event that set the row, so an older event arriving late does not undo a newer move.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field

from services.notify.adapters.orm import NotifyTable


class Residence(NotifyTable, table=True):
    """One person's home (from PersonRegistered / HouseholdMoved); no row: not living in a household."""

    __tablename__ = "residence"
    __table_args__ = (Index("ix_residence_place", "community", "estate", "building", "unit"),)

    sub: str = Field(primary_key=True, max_length=128)
    household_id: str = Field(max_length=64)
    community: str = Field(max_length=64)
    estate: str | None = Field(default=None, max_length=64)
    building: str | None = Field(default=None, max_length=32)
    unit: str | None = Field(default=None, max_length=32)
    as_of: datetime


class Notice(NotifyTable, table=True):
    """A notice staff sent to the people of a place (a community, estate, building, unit or household)."""

    __tablename__ = "notice"

    id: str = Field(primary_key=True, max_length=40)
    community: str = Field(index=True, max_length=64)
    estate: str | None = Field(default=None, max_length=64)
    building: str | None = Field(default=None, max_length=32)
    unit: str | None = Field(default=None, max_length=32)
    household_id: str | None = Field(default=None, max_length=64)
    title: str = Field(max_length=200)
    body: str = Field(max_length=4000)
    urgent: bool = False
    issued_by: str = Field(max_length=128)
    created_at: datetime
    recipients: int = 0
