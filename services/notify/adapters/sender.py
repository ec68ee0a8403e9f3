"""Sending one message through Apprise; the provider's answer is kept for the delivery log.

Before anything leaves, the URL is checked against the channel target policy again (a target stored before
the policy, or by hand, that no longer passes is never called) and every network host it names is resolved
and must be public (a DNS name pointing at a private address is refused). Apprise is told not to follow
HTTP redirects, so a public webhook cannot bounce the request to an internal one.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import apprise

from services.notify.domain.targets import DEFAULT, Audience, TargetPolicy, TargetRefused


@dataclass
class SendResult:
    ok: bool
    response: str
    permanent: bool = False
    """A failure that will not change on retry (a refused target): no more attempts on this channel."""


def resolve(host: str) -> Iterable[str]:
    """Every address ``host`` resolves to (none when it does not resolve)."""
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except (OSError, UnicodeError):
        return set()


def refused(exc: TargetRefused) -> SendResult:
    return SendResult(
        False, f"通道地址被拒绝，未发送 / channel target refused, not sent: {exc.reason}", exc.reason != "unresolvable"
    )


def send(
    url: str,
    title: str,
    body: str,
    *,
    targets: TargetPolicy = DEFAULT,
    audience: Audience = "resident",
    resolver: Callable[[str], Iterable[str]] = resolve,
) -> SendResult:
    """Send through the Apprise URL; ``response`` is what Apprise logged (warnings and errors)."""
    try:
        target = targets.check(url, audience)
        for host in target.hosts:
            targets.check_addresses(host, resolver(host))
    except TargetRefused as exc:
        return refused(exc)
    client = apprise.Apprise(asset=apprise.AppriseAsset(http_redirects=False))
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
