"""Who may call the tickets routes, and the path types they share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from shared.web.auth import Principal, allow

Reporter = Annotated[Principal, Depends(allow(resident="self", volunteer="self"))]
"""Reporter actions (the use case checks it is *their* ticket)."""
Staff = Annotated[Principal, Depends(allow(staff="community", operator="all"))]
"""Staff act on the tickets of the communities they serve (``service_layer.scope``)."""
Configurers = Annotated[Principal, Depends(allow(staff="all", operator="all"))]
"""Categories and duty rosters: city-wide reference data (a pool serves categories, not communities)."""
People = Annotated[Principal, Depends(allow(resident="self", staff="community", operator="all"))]
"""Who may file reports and add photos."""
Readers = Annotated[Principal, Depends(allow(resident="self", volunteer="self", staff="community", operator="all"))]
"""Residents and volunteers read their own reports in full (others' anonymised), staff their communities'."""

CategoryCode = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")]
"""A category's code: lower-case letters, digits, ``_`` and ``-``."""
MediaName = Annotated[str, Path(max_length=70, pattern=r"^[0-9a-f]{64}\.(jpg|png|webp)$")]
"""A stored photo: its SHA-256 and extension."""
