"""Where a sign-in code goes: the configured Apprise channel, and on a development machine a local file.

The code is sent straight from the route after the challenge has committed, never through the
outbox: outbox rows become stream entries, and a code must never be in a stream, an event or a log.
Nothing here logs the code or the number.

Development (``linli accounts last-code PHONE``): unless ``LINLI_ENV=production`` (where it is
refused), the last code of each phone is also written to ``<LINLI_VAR_DIR>/accounts-codes/<keyed
hash>``, created with mode 0600 in a 0700 folder: only the OS user running the service (and root)
can read it, on that machine; no route, stream or log ever carries it, and the file is named by the
keyed hash, so the folder does not list phone numbers. The CLI removes nothing: a newer code
overwrites the file, and an expired one is reported as expired.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import datetime
from pathlib import Path

import apprise

from services.accounts.config import accounts_settings
from shared.config import Settings

log = logging.getLogger(__name__)
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


class _MaskPhones(logging.Filter):
    """Apprise logs its targets at INFO (``Sent Email to 13912345678@…``): mask mobile numbers in them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _MOBILE.search(message):
            record.msg, record.args = _MOBILE.sub(r"\1****\3", message), ()
        return True


logging.getLogger("apprise").addFilter(_MaskPhones())

MESSAGE = (
    "【邻里】您的登录验证码是 {code}，{minutes}分钟内有效，请勿告诉他人。"
    " / Your Linli sign-in code is {code} ({minutes} min)."
)


class ChannelFailed(RuntimeError):
    """The channel did not take the message (the caller answers 503; the code is not lost, it can be asked again)."""


def dev_codes_enabled(settings: Settings) -> bool:
    """Whether codes are also kept for ``linli accounts last-code`` (never under ``LINLI_ENV=production``)."""
    return settings.env != "production" and accounts_settings().dev_codes is not False


def refuse_dev_codes_in_production(settings: Settings) -> None:
    """At start: ``ACCOUNTS_DEV_CODES=true`` under ``LINLI_ENV=production`` stops the service."""
    if settings.env == "production" and accounts_settings().dev_codes:
        raise RuntimeError("ACCOUNTS_DEV_CODES is refused under LINLI_ENV=production")


def folder(settings: Settings) -> Path:
    return Path(settings.var_dir) / "accounts-codes"


def keep_for_development(settings: Settings, phone_hash: str, code: str, expires_at: datetime) -> None:
    """Write the code where only this OS user can read it (see the module's docstring)."""
    where = folder(settings)
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(where, 0o700)
    path = where / phone_hash
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"code": code, "expires_at": expires_at.isoformat()}, out)
    os.replace(path.with_suffix(".tmp"), path)


def last_code(settings: Settings, phone_hash: str) -> tuple[str, datetime] | None:
    path = folder(settings) / phone_hash
    if not path.exists():
        return None
    found = json.loads(path.read_text())
    return found["code"], datetime.fromisoformat(found["expires_at"])


async def send(phone: str, code: str) -> bool:
    """Send ``code`` to ``phone`` through ``ACCOUNTS_CODE_URL``; ``False`` when no channel is configured."""
    config = accounts_settings()
    if not config.code_url:
        return False
    target = apprise.Apprise()
    if not target.add(config.code_url.replace("{phone}", phone)):
        raise ChannelFailed("ACCOUNTS_CODE_URL is not a URL Apprise understands")
    body = MESSAGE.format(code=code, minutes=max(config.code_ttl_s // 60, 1))
    if not await target.async_notify(body=body, title="邻里登录验证码 / Linli sign-in code"):
        log.warning("sign-in code channel refused a message")  # neither the number nor the code
        raise ChannelFailed("the sign-in code channel did not take the message")
    return True
