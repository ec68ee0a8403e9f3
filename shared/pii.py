"""Personal data: keyed hashes for lookup, masked forms for display, validation of ID numbers.

National ID numbers, phone numbers and health notes are personal data: store the least, show them
masked, never put them in events or logs.
"""

from __future__ import annotations

import hashlib
import hmac

from stdnum import exceptions as stdnum_errors
from stdnum.cn import ric

from shared.config import get_settings


class InvalidIdNumber(ValueError):
    """A national ID number that fails GB 11643-1999; the message says what is wrong."""


def keyed_hash(value: str, key: str | None = None) -> str:
    """HMAC-SHA256 of a normalised value with ``LINLI_PII_KEY``: a lookup key that reveals nothing."""
    secret = (key or get_settings().pii_key).encode()
    return hmac.new(secret, value.strip().upper().encode(), hashlib.sha256).hexdigest()


def validate_id_number(value: str) -> str:
    """Validate an 18-character resident ID number (birth date and ISO 7064 MOD 11-2 check).

    Returns the compact upper-case form; raises :class:`InvalidIdNumber` with a bilingual reason.
    """
    compact = ric.compact(value or "")
    if len(compact) != 18:
        raise InvalidIdNumber(f"身份证号应为18位 / an ID number has 18 characters, got {len(compact)}")
    if not compact[:17].isdigit() or not (compact[17].isdigit() or compact[17] == "X"):
        raise InvalidIdNumber("身份证号格式错误 / only digits, with X allowed last")
    try:
        ric.get_birth_date(compact)
    except stdnum_errors.ValidationError:
        raise InvalidIdNumber("出生日期无效 / the birth date in the ID number is not a real date") from None
    try:
        ric.validate(compact)
    except stdnum_errors.InvalidChecksum:
        raise InvalidIdNumber("校验码错误 / the check character does not match (ISO 7064 MOD 11-2)") from None
    except stdnum_errors.ValidationError as exc:
        raise InvalidIdNumber(f"身份证号无效 / invalid ID number: {getattr(exc, 'message', exc)}") from None
    return compact


def mask_id_number(value: str) -> str:
    """``110105********002X``: region code and last four characters only."""
    compact = ric.compact(value)
    return compact[:6] + "*" * (len(compact) - 10) + compact[-4:]


def mask_phone(value: str) -> str:
    """``138****5678`` for mainland mobiles; otherwise all but the last four characters hidden."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 4, 0) + digits[-4:]
