"""Request bodies (``Body``) and response models (``View``) of the accounts routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.web.fields import Body, View

_CODE = r"^[A-Za-z0-9_.:\-]+$"
_PLACE = r"^[^\s/\\]+( [^\s/\\]+)*$"
Place = Field(min_length=1, max_length=32, pattern=_PLACE)

# -- requests ---------------------------------------------------------------------------------------


class CommunityIn(Body):
    code: str = Field(min_length=1, max_length=64, pattern=_PLACE, examples=["北翟营"])
    name: str = Field(min_length=1, max_length=100, examples=["北翟营社区"])
    district: str | None = Field(default=None, min_length=1, max_length=64, examples=["裕华区"])


class HouseholdIn(Body):
    """A household by its address; missing estates, buildings and units are created."""

    community: str = Field(min_length=1, max_length=64, pattern=_PLACE, examples=["3502"])
    estate: str = Field(min_length=1, max_length=100, pattern=_PLACE, examples=["际华苑"])
    building: str = Field(min_length=1, max_length=32, pattern=_PLACE, examples=["5"])
    unit: str = Field(min_length=1, max_length=16, pattern=_PLACE, examples=["1"])
    room: str = Field(min_length=1, max_length=16, pattern=_PLACE, examples=["302"])


class PersonIn(Body):
    name: str = Field(min_length=1, max_length=100, examples=["张晓森"])
    phone: str | None = Field(default=None, min_length=7, max_length=20, examples=["13800138000"])
    household_id: str | None = Field(default=None, min_length=1, max_length=32, pattern=_CODE)
    community: str | None = Field(default=None, min_length=1, max_length=64, pattern=_PLACE)
    sub: str | None = Field(
        default=None, min_length=3, max_length=128, pattern=_CODE, examples=["resident:zhang-xiaosen"]
    )


class MoveIn(Body):
    household_id: str = Field(min_length=1, max_length=32, pattern=_CODE)


class PhoneIn(Body):
    phone: str = Field(min_length=7, max_length=20, examples=["13800138000"])


class GrantIn(Body):
    role: Literal["staff", "team_leader", "volunteer", "partner", "operator"]
    community: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^(\*|[^\s/\\]+)$")
    team: str | None = Field(default=None, min_length=1, max_length=64, pattern=_CODE)
    institution: str | None = Field(default=None, min_length=1, max_length=64, pattern=_CODE)


class CodeIn(Body):
    phone: str = Field(min_length=7, max_length=20, examples=["13800138000"])


class SignInIn(Body):
    phone: str = Field(min_length=7, max_length=20, examples=["13800138000"])
    code: str = Field(min_length=6, max_length=6, pattern=r"^\d{6}$", examples=["123456"])


class RefreshIn(Body):
    refresh_token: str = Field(min_length=16, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")


class OidcCallbackIn(Body):
    """What the provider sent back to the redirect URI."""

    code: str = Field(min_length=1, max_length=2000, pattern=r"^[\x21-\x7e]+$")
    state: str = Field(min_length=16, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")


class OidcSubjectIn(Body):
    """The staff member's ``sub`` at the configured provider (its issuer is added)."""

    subject: str = Field(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")


# -- responses --------------------------------------------------------------------------------------


class CommunityView(View):
    code: str
    name: str
    district: str | None = None


class HouseholdView(View):
    id: str
    community: str
    estate: str
    building: str
    unit: str
    room: str


class GrantView(View):
    id: str
    role: str
    community: str | None = None
    team: str | None = None
    institution: str | None = None


class PersonView(View):
    """A person as staff see them: the phone masked, never in full."""

    id: str
    sub: str
    name: str
    community: str | None = None
    household: HouseholdView | None = None
    phone_masked: str | None = None
    roles: list[GrantView] = []
    left_at: datetime | None = None
    erased: bool = False


class CodeSentView(View):
    """Always the same answer, whether or not the number is in the register."""

    sent: bool = True
    expires_in: int = Field(description="seconds the code is valid")
    message: str = "如果该手机号已登记，验证码已发送 / if this number is registered, a code is on its way"


class TokenView(View):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str
    session_id: str


class OidcStartView(View):
    authorization_url: str
    state: str


class SignedOutView(View):
    signed_out: bool


class SessionView(View):
    id: str
    client: str | None = None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_reason: str | None = None


class JwkView(View):
    kty: str
    crv: str | None = None
    x: str | None = None
    n: str | None = None
    e: str | None = None
    kid: str
    alg: str
    use: str = "sig"


class JwksView(View):
    keys: list[JwkView]


class KeyView(View):
    kid: str
    alg: str
    created_at: datetime


class RejectedRow(View):
    row: int = Field(description="the row's number in the file (the header is row 1)")
    reason: str


class ImportView(View):
    dry_run: bool
    rows: int
    households_created: int
    people_created: int
    people_updated: int
    unchanged: int
    rejected: list[RejectedRow]
    rejected_total: int
