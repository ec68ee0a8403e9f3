"""Events of the notify service on stream ``<prefix>:notify``: the outcome of each delivery."""

from __future__ import annotations

from shared.events.envelope import EventData
from shared.events.registry import event

SOURCE = "/linli/notify"


class NotificationEvent(EventData):
    notification_id: str
    recipient: str
    channel: str
    cause_type: str
    cause_id: str


@event("cn.linli.notify.NotificationSent.v1", SOURCE)
class NotificationSent(NotificationEvent):
    attempts: int = 1


@event("cn.linli.notify.NotificationFailed.v1", SOURCE)
class NotificationFailed(NotificationEvent):
    attempts: int
    error: str
