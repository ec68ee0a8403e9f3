"""Which visit a log without ``visit_id`` closes (one statement since the ninth session: the two reads it
replaced preferred the latest visit already due, else the earliest due within a week)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.volunteers.adapters.orm import Visit, metadata
from services.volunteers.service_layer.visits import _open_visit
from shared.db.store import Store

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _store(tmp_path, *visits: tuple[str, str, timedelta, str]) -> Store:
    store = Store("volunteers", f"sqlite:///{tmp_path}/v.db", metadata)
    store.create_all()
    with store.transaction() as s:
        for vid, elder, offset, status in visits:
            s.add(Visit(id=vid, elder_id=elder, due_at=NOW + offset, status=status))
    return store


def _chosen(store: Store, elder: str = "E1") -> str | None:
    with store.transaction(readonly=True) as s:
        found = _open_visit(s.connection(), elder, NOW)
        return found.id if found else None


def test_the_latest_visit_due_is_closed_before_any_later_one(tmp_path):
    store = _store(
        tmp_path,
        ("old", "E1", -timedelta(days=9), "missed"),
        ("due", "E1", -timedelta(hours=2), "scheduled"),
        ("soon", "E1", timedelta(hours=1), "scheduled"),
        ("done", "E1", -timedelta(hours=1), "done"),
        ("other", "E2", -timedelta(minutes=5), "scheduled"),
    )
    try:
        assert _chosen(store) == "due"
    finally:
        store.dispose()


def test_else_the_earliest_due_within_a_week_and_none_beyond(tmp_path):
    store = _store(
        tmp_path,
        ("later", "E1", timedelta(days=5), "scheduled"),
        ("sooner", "E1", timedelta(days=2), "missed"),
        ("far", "E3", timedelta(days=8), "scheduled"),
    )
    try:
        assert _chosen(store) == "sooner"
        assert _chosen(store, "E3") is None
        assert _chosen(store, "E9") is None
    finally:
        store.dispose()
