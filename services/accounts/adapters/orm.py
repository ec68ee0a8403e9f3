"""The accounts store: the register (communities → estates → buildings → units → households, people,
role grants), sign-in (codes, locks, sessions, refresh tokens) and the signing keys.

Phones are kept as the least needed: ``phone_hash`` (keyed, for sign-in lookups), ``phone_masked``
(for display) and ``phone_sealed`` (AES-GCM, only for the channels that must dial the number).
Codes and refresh tokens are stored only as hashes; private keys only sealed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, MetaData, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.messaging.inbox import Inbox
from shared.messaging.outbox import Outbox

metadata = MetaData()
TZ = DateTime(timezone=True)
outbox = Outbox(metadata, default_stream="accounts")
inbox = Inbox(metadata)


class AccountsTable(SQLModel):
    """Base of the accounts tables (its own metadata)."""

    metadata = metadata


class Community(AccountsTable, table=True):
    """A community (社区) by the name the other services use as its code (``北翟营``)."""

    __tablename__ = "community"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    district: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=TZ)


class Estate(AccountsTable, table=True):
    """An estate (小区) inside a community."""

    __tablename__ = "estate"
    __table_args__ = (UniqueConstraint("community", "name"),)

    id: str = Field(primary_key=True, max_length=32)
    community: str = Field(index=True, max_length=64)
    name: str = Field(max_length=100)


class Building(AccountsTable, table=True):
    """A building (楼) of an estate, by its number or name (``5``, ``5号楼``)."""

    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("estate_id", "name"),)

    id: str = Field(primary_key=True, max_length=32)
    estate_id: str = Field(index=True, max_length=32)
    community: str = Field(index=True, max_length=64)
    name: str = Field(max_length=32)


class Unit(AccountsTable, table=True):
    """A unit (单元, one stairwell) of a building."""

    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("building_id", "name"),)

    id: str = Field(primary_key=True, max_length=32)
    building_id: str = Field(index=True, max_length=32)
    name: str = Field(max_length=16)


class Household(AccountsTable, table=True):
    """A household (户): one door of a unit. ``community`` is kept here too, for scoped queries."""

    __tablename__ = "household"
    __table_args__ = (UniqueConstraint("unit_id", "room"),)

    id: str = Field(primary_key=True, max_length=32)
    unit_id: str = Field(index=True, max_length=32)
    community: str = Field(index=True, max_length=64)
    room: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=TZ)


class Person(AccountsTable, table=True):
    """A person: ``sub`` is the principal id every service knows them by; the phone only as hash,
    mask and sealed number. ``left_at``: left the register (moved away, died); ``erased_at``: their
    personal data was erased (the row stays so that ``sub`` is never reused)."""

    __tablename__ = "person"
    __table_args__ = (Index("ix_person_community_id", "community", "id"),)

    id: str = Field(primary_key=True, max_length=32)
    sub: str = Field(unique=True, max_length=128)
    name: str = Field(max_length=100)
    household_id: str | None = Field(default=None, index=True, max_length=32)
    community: str | None = Field(default=None, max_length=64)
    phone_hash: str | None = Field(default=None, unique=True, max_length=64)
    phone_masked: str | None = Field(default=None, max_length=20)
    phone_sealed: str | None = Field(default=None, max_length=200)
    oidc_subject: str | None = Field(default=None, unique=True, max_length=300)
    """``<issuer>|<sub>`` of the staff member at the OpenID Connect provider, linked by an operator."""
    created_at: datetime = Field(sa_type=TZ)
    left_at: datetime | None = Field(default=None, sa_type=TZ)
    erased_at: datetime | None = Field(default=None, sa_type=TZ)


class RoleGrant(AccountsTable, table=True):
    """A role with its scope: staff of a community, leader or member of a team, a partner's institution."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("person_id", "role", "scope"),)

    id: str = Field(primary_key=True, max_length=32)
    person_id: str = Field(index=True, max_length=32)
    role: str = Field(max_length=20)
    scope: str = Field(default="", max_length=140)
    """``community|team|institution`` joined, so one person holds one grant per role and scope."""
    community: str | None = Field(default=None, max_length=64)
    team: str | None = Field(default=None, max_length=64)
    institution: str | None = Field(default=None, max_length=64)
    granted_at: datetime = Field(sa_type=TZ)


class CodeChallenge(AccountsTable, table=True):
    """One code sent (or, for a number not in the register, pretended to be sent): its keyed hash only."""

    __tablename__ = "code_challenge"
    __table_args__ = (
        Index("ix_code_challenge_phone_at", "phone_hash", "created_at"),
        Index("ix_code_challenge_client_at", "client_hash", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    phone_hash: str = Field(max_length=64)
    client_hash: str = Field(max_length=64)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=TZ)
    expires_at: datetime = Field(sa_type=TZ)
    attempts: int = 0
    used_at: datetime | None = Field(default=None, sa_type=TZ)


class PhoneLock(AccountsTable, table=True):
    """A phone locked after too many wrong codes, until ``until``."""

    __tablename__ = "phone_lock"

    phone_hash: str = Field(primary_key=True, max_length=64)
    until: datetime = Field(sa_type=TZ)


class SignInSession(AccountsTable, table=True):
    """A signed-in device: the family of its refresh tokens. Revoking it stops every one of them."""

    __tablename__ = "signin_session"
    __table_args__ = (Index("ix_signin_session_person_created", "person_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=32)
    person_id: str = Field(max_length=32)
    client: str | None = Field(default=None, max_length=120)
    created_at: datetime = Field(sa_type=TZ)
    last_used_at: datetime = Field(sa_type=TZ)
    expires_at: datetime = Field(sa_type=TZ)
    revoked_at: datetime | None = Field(default=None, sa_type=TZ)
    revoked_reason: str | None = Field(default=None, max_length=20)


class RefreshToken(AccountsTable, table=True):
    """A refresh token by its SHA-256; ``used_at`` once rotated (a second use revokes the session)."""

    __tablename__ = "refresh_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    session_id: str = Field(index=True, max_length=32)
    issued_at: datetime = Field(sa_type=TZ)
    used_at: datetime | None = Field(default=None, sa_type=TZ)


class SigningKey(AccountsTable, table=True):
    """An Ed25519 signing key: the private half sealed, the public half as a JWK. The newest unretired
    key signs; retired keys stay in the JWKS for ``ACCOUNTS_KEY_RETENTION_S``."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=32)
    alg: str = Field(default="EdDSA", max_length=10)
    private_sealed: str = Field(sa_type=Text)
    public_jwk: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=TZ)
    retired_at: datetime | None = Field(default=None, sa_type=TZ)


class OidcLogin(AccountsTable, table=True):
    """A sign-in started at the OpenID Connect provider: ``state`` by its hash, the PKCE verifier sealed."""

    __tablename__ = "oidc_login"

    state_hash: str = Field(primary_key=True, max_length=64)
    verifier_sealed: str = Field(max_length=300)
    nonce: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=TZ)
    used_at: datetime | None = Field(default=None, sa_type=TZ)
