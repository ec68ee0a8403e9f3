"""Contact points: what kind of channel an Apprise URL is, and how to show it without its secrets."""

from __future__ import annotations

from urllib.parse import urlsplit

SHORT_KINDS = {
    "wecombot",
    "dingtalk",
    "feishu",
    "lark",
    "serverchan",
    "schan",
    "sms",
    "twilio",
    "aliyun",
    "bark",
    "gotify",
    "ntfy",
    "ntfys",
    "tgram",
    "pushplus",
    "qq",
}
EMAIL = {"mailto", "mailtos"}
WEBHOOK = {"json", "jsons", "form", "forms", "xml", "xmls"}
CATEGORIES = ("tickets", "library", "volunteers", "activities", "system")
NATIVE = {"qyapi.weixin.qq.com": "wecombot"}
"""Providers' own webhook hosts (``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``) and their kind."""


def scheme(url: str) -> str:
    """The Apprise scheme of ``url`` (a provider's native ``https://`` webhook counts as its scheme)."""
    s = url.split("://", 1)[0].lower() if "://" in url else ""
    if s == "https":
        try:
            return NATIVE.get((urlsplit(url).hostname or "").lower(), s)
        except ValueError:
            return s
    return s


def default_name(url: str) -> str:
    """A channel's default name from its URL: email, webhook, or the Apprise scheme (wecombot...)."""
    s = scheme(url)
    if s in EMAIL:
        return "email"
    if s in WEBHOOK:
        return "webhook"
    return s.rstrip("s") if s in {"ntfys"} else s


def message_kind(url: str) -> str:
    """``short`` for SMS and chat bots, ``full`` for email, webhooks and the in-app inbox."""
    return "short" if scheme(url) in SHORT_KINDS else "full"


def mask_url(url: str) -> str:
    """``mailto://127.0.0.1:25?...`` -> ``mailto://127.0.0.1:25/…``: no tokens, passwords or addresses."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return (
        f"{parts.scheme}://{host[:3]}{'…' if len(host) > 3 else ''}{port}/…"
        if parts.scheme in SHORT_KINDS
        else f"{parts.scheme}://{host}{port}/…"
    )
