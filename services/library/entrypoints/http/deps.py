"""Who may call the library's routes, and the bounded path parameters they share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from shared.web.auth import Principal, allow

Staff = Annotated[Principal, Depends(allow("staff", "operator"))]
"""Desk staff and operators."""
Operator = Annotated[Principal, Depends(allow("operator"))]
"""Operators only (branches, policies, partner keys)."""
Resident = Annotated[Principal, Depends(allow("resident"))]
"""A resident acting for their own reader card."""
People = Annotated[Principal, Depends(allow("resident", "staff", "operator"))]
"""Residents and staff (residents only for themselves)."""

_KEY = r"^[A-Za-z0-9_.:\-]+$"
BranchCode = Annotated[str, Path(min_length=1, max_length=32, pattern=_KEY, examples=["CN-SJZ-YH-ZHC"])]
"""A branch's ISIL-style code (32 characters at most, as stored)."""
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
