"""ISBNs: validate ISBN-10 and ISBN-13 check digits (python-stdnum) and store the ISBN-13 form."""

from __future__ import annotations

from stdnum import isbn as stdnum_isbn
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from shared.errors import Invalid


def normalize_isbn(value: str) -> str:
    """The compact ISBN-13 of ``value`` (ISBN-10 converted); :class:`Invalid` with the reason otherwise."""
    try:
        compact = stdnum_isbn.validate(value or "")
    except InvalidChecksum:
        raise Invalid("ISBN 校验位错误 / the ISBN check digit does not match", code="bad_isbn") from None
    except InvalidLength:
        raise Invalid("ISBN 应为10位或13位 / an ISBN has 10 or 13 digits", code="bad_isbn") from None
    except (InvalidFormat, ValidationError):
        raise Invalid("ISBN 格式错误 / not an ISBN", code="bad_isbn") from None
    return stdnum_isbn.to_isbn13(compact)
