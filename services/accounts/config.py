"""Settings of the accounts service (env ``ACCOUNTS_*``): sign-in codes, tokens, the code channel."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config import ENV_FILE


class AccountsSettings(BaseSettings):
    """Sign-in by phone and one-time code, and the tokens accounts signs.

    ``ACCOUNTS_CODE_URL`` is an Apprise URL with ``{phone}`` where the number goes, e.g. an SMS
    gateway (``twilio://SID:TOKEN@FROM/{phone}``) or a mail-to-SMS bridge
    (``mailtos://user:pass@smtp.example?to={phone}@sms.example``). Unset, no code is sent (a
    development machine reads it with ``linli accounts last-code``).
    """

    model_config = SettingsConfigDict(env_prefix="ACCOUNTS_", env_file=ENV_FILE, extra="ignore")

    code_url: str | None = None
    code_ttl_s: int = 300
    code_attempts: int = 5
    """Wrong codes for one phone within ``lock_window_s`` before the phone is locked."""
    lock_window_s: int = 3600
    lock_s: int = 900
    phone_gap_s: int = 60
    """At most one code per phone in this many seconds."""
    phone_per_hour: int = 5
    client_per_hour: int = 30
    """Codes requested from one client address per hour (a gateway in front keeps its own limit too)."""
    dev_codes: bool | None = None
    """Keep the last code for ``linli accounts last-code`` (a file only this OS user reads); default: on
    unless ``LINLI_ENV=production``, where it is refused."""
    access_ttl_s: int = 900
    refresh_ttl_days: int = 30
    issuer: str = "linli-accounts"
    audience: str = "linli"
    key_retention_s: int = 86_400
    oidc_issuer: str | None = None
    """Staff may sign in through this OpenID Connect provider (authorization code + PKCE), when set."""
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_redirect_uri: str | None = None
    oidc_scope: str = "openid profile"
    """How long a rotated-out signing key stays in the JWKS (at least the access tokens' life)."""


@lru_cache
def accounts_settings() -> AccountsSettings:
    """The accounts settings of this process (read once)."""
    return AccountsSettings()
