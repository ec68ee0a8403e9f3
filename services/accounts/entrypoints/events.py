"""The accounts service consumes no events: it is where people, homes and roles start."""

from __future__ import annotations

consumer = None
