"""Who may call the library's routes, and the bounded path parameters they share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from shared.identity import Principal
from shared.web.auth import allow

Staff = Annotated[Principal, Depends(allow(staff="community", operator="all"))]
"""Desk staff at the book houses of the communities they serve (lending, returns, copies, reports); operators."""
Desk = Annotated[Principal, Depends(allow(staff="all", operator="all"))]
"""Staff anywhere: reader cards and the catalogue are city-wide (every reader look-up is logged)."""
Operator = Annotated[Principal, Depends(allow(operator="all"))]
"""Operators only (branches, policies, partner keys)."""
Resident = Annotated[Principal, Depends(allow(resident="self"))]
"""A resident acting for their own reader card."""
People = Annotated[Principal, Depends(allow(resident="self", staff="community", operator="all"))]
"""Residents for their own loans and holds; staff at their book houses; operators."""
Readers = Annotated[Principal, Depends(allow(resident="all", staff="all", operator="all"))]
"""The catalogue and the book houses, the same for everyone signed in."""
Auditors = Annotated[Principal, Depends(allow(staff="community", operator="all"))]
"""The access log: staff (their communities' entries and their own reads), operators."""

_KEY = r"^[A-Za-z0-9_.:\-]+$"
BranchCode = Annotated[str, Path(min_length=1, max_length=32, pattern=_KEY, examples=["CN-SJZ-YH-ZHC"])]
"""A branch's ISIL-style code (32 characters at most, as stored)."""
PolicyKey = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^(\*|[A-Za-z0-9_.:\-]+)$", examples=["*"])]
"""A loan rule's branch or reader group: a code, or ``*`` for any."""
Barcode = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$", examples=["ZHC-0001"])]
"""A copy's barcode."""
Isbn = Annotated[str, Path(min_length=10, max_length=20, pattern=r"^[0-9Xx\-]+$", examples=["9787020002207"])]
"""An ISBN-10 or ISBN-13, hyphens allowed."""
RecordId = Annotated[str, Path(min_length=1, max_length=32, pattern=_KEY, examples=["Le7ed3b07f901"])]
"""A reader, loan or hold id."""
PartnerCode = Annotated[str, Path(min_length=1, max_length=32, pattern=_KEY, examples=["CN-SJZ-LIB"])]
"""A partner library's institution code."""
KeyId = Annotated[str, Path(min_length=1, max_length=32, pattern=_KEY, examples=["K1a2b3c4d5e6f"])]
"""A partner signing key's id."""
