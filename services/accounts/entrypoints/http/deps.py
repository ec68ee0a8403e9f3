"""Who may call the accounts routes (each role with its scope), and the bounded path parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from shared.identity import Principal
from shared.web.auth import allow

Staff = Annotated[Principal, Depends(allow(staff="community", operator="all"))]
"""Community staff for the communities they serve; operators everywhere."""
Operator = Annotated[Principal, Depends(allow(operator="all"))]
"""Operators only (signing keys)."""
Anyone = Annotated[
    Principal,
    Depends(
        allow(resident="self", volunteer="self", team_leader="self", staff="self", partner="self", operator="self")
    ),
]
"""Any signed-in person, for their own record and sessions."""
HouseholdReader = Annotated[Principal, Depends(allow(resident="household", staff="community", operator="all"))]
"""A resident for their own household; staff for their communities."""

_KEY = r"^[A-Za-z0-9_.:\-]+$"
RecordId = Annotated[str, Path(min_length=1, max_length=32, pattern=_KEY, examples=["P1a2b3c4d5e6f"])]
"""A person, household, session or grant id."""
PlaceQuery = Annotated[str | None, Query(min_length=1, max_length=100, pattern=r"^[^\s/\\]+( [^\s/\\]+)*$")]
"""An estate, building or unit by name (``5``)."""
CommunityQuery = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[^\s/\\]+$", examples=["3502"])]
"""A community by its code (its name, as the other services use it)."""
