"""Who may call notify's routes, and the path types they share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from shared.web.auth import ROLES, Principal, allow
from shared.web.fields import PathInt

Anyone = Annotated[Principal, Depends(allow(**dict.fromkeys(ROLES, "self")))]
"""Any signed-in person: their own inbox and preferences (by ``sub``)."""
Staff = Annotated[Principal, Depends(allow(staff="community", operator="all"))]
"""Recipients and deliveries of the communities a staff member serves (``service_layer.scope``)."""
Configurers = Annotated[Principal, Depends(allow(staff="all", operator="all"))]
"""The routing rules: city-wide configuration, the same for every community."""
Operator = Annotated[Principal, Depends(allow(operator="all"))]

NoteId = PathInt
"""An in-app message's number."""
UserId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@\-]+$")]
"""A principal id (``resident:zhang-xiaosen``)."""
