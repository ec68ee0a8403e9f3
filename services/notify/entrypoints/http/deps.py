"""Who may call notify's routes, and the path types they share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from shared.web.auth import ROLES, Principal, allow
from shared.web.fields import PathInt

Anyone = Annotated[Principal, Depends(allow(*ROLES))]
"""Any signed-in person (their own inbox and preferences)."""
Staff = Annotated[Principal, Depends(allow("staff", "operator"))]
Operator = Annotated[Principal, Depends(allow("operator"))]

NoteId = PathInt
"""An in-app message's number."""
UserId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@\-]+$")]
"""A principal id (``resident:zhang-xiaosen``)."""
