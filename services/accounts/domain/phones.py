"""Mainland mobile numbers: the one form every lookup hashes (``13812345678``)."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-().]")


class InvalidPhone(ValueError):
    """Not a mainland mobile number; the message says so in both languages."""


def normalise(value: str) -> str:
    """``+86 138-1234-5678`` → ``13812345678``; anything else raises :class:`InvalidPhone`.

    Sign-in codes go by SMS, so only mobile numbers (11 digits from 13 to 19) are accepted.
    """
    digits = _SEPARATORS.sub("", value or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    if not _MOBILE.match(digits):
        raise InvalidPhone("手机号无效 / not a mainland mobile number (11 digits, starting 13-19)")
    return digits
