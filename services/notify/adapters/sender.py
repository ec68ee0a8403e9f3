"""Sending one message through Apprise; the provider's answer is kept for the delivery log."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import apprise


@dataclass
class SendResult:
    ok: bool
    response: str


def send(url: str, title: str, body: str) -> SendResult:
    """Send through the Apprise URL; ``response`` is what Apprise logged (warnings and errors)."""
    client = apprise.Apprise()
    if not client.add(url):
        return SendResult(False, "无效的通道地址 / Apprise cannot parse this URL")
    with apprise.LogCapture(level=logging.INFO) as captured:
        result = client.notify(body=body, title=title)
    lines = [
        line.split(" - ", 2)[-1]
        for line in captured.getvalue().splitlines()
        if " - WARNING - " in line or " - ERROR - " in line or "Sent" in line
    ]
    return SendResult(bool(result), "; ".join(lines)[:1000] or ("ok" if result else "failed"))
