"""Who may call the activities routes, each role with its scope, and the bounded parameters they share.

Organisers: an activity names its organiser (a principal id); a volunteer who organises (the 智汇橙
teacher) runs that activity's roster and door (scope ``self``: the activities naming them). Staff
run everything in the communities they serve.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from shared.web.auth import Principal, allow

Staff = Annotated[Principal, Depends(allow(staff="community", operator="all"))]
"""Community staff (their communities' rooms and programme) and operators."""
Runners = Annotated[Principal, Depends(allow(staff="community", operator="all", volunteer="self"))]
"""Who runs a session: staff of its community, operators, the volunteer named as its organiser."""
Anyone = Annotated[Principal, Depends(allow(resident="all", volunteer="all", staff="all", operator="all"))]
"""Rooms and the programme are public to everyone signed in."""
Household = Annotated[Principal, Depends(allow(resident="household"))]
"""A resident for themself or a child of their household."""
SignupActors = Annotated[
    Principal, Depends(allow(resident="household", volunteer="self", staff="community", operator="all"))
]
"""A sign-up's household, or whoever runs its activity."""

_KEY = r"^[A-Za-z0-9_.:\-]+$"
RecordId = Annotated[str, Path(min_length=1, max_length=32, pattern=_KEY, examples=["Ae7ed3b07f901"])]
"""A venue, activity or sign-up id."""
CommunityQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
Community = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
ArtisanActors = Annotated[Principal, Depends(allow(volunteer="self", staff="community", operator="all"))]
"""An artisan (a volunteer account) for their own sittings and jobs, or the community's staff."""
RepairActors = Annotated[
    Principal, Depends(allow(resident="household", volunteer="self", staff="community", operator="all"))
]
"""A booking's household, its artisan, or the community's staff."""
RoomActors = Annotated[Principal, Depends(allow(resident="self", staff="community", operator="all"))]
"""A resident booking for their group (their own bookings), or the community's staff."""
