"""One typed configuration: SIGNWATCH_* environment, then a TOML file, then the defaults declared here."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_DB = "sqlite:///./signwatch.db"
MIB = 1024 * 1024


class PollerConfig(BaseSettings):
    """A background Atlas poller run inside `serve` for one tenant (fallback when webhooks are blocked)."""

    tenant: str
    base_url: str
    interval_seconds: float = Field(60.0, gt=0, description="Seconds between polling rounds.")


class ForwarderSettings(BaseModel):
    """A forwarder (settings `forwarders`, or `signwatch forward` options): the event log pushed to a sink."""

    name: str = Field(min_length=1, max_length=100, description="Its checkpoint's name; unique.")
    sink: str = Field(description="Sink URL, e.g. redis://127.0.0.1:6379/0?stream=signwatch (docs/forwarding.md).")
    format: str = Field("ndjson", description="Record format: ndjson, csv, cef, ocsf, ecs.")
    tenant: str | None = Field(None, description="Only this tenant's events.")
    batch: int = Field(500, ge=1, le=10_000, description="Most events per batch.")
    poll_seconds: float = Field(default=1.0, gt=0, description="Pause when caught up.")


class Settings(BaseSettings):
    """Every setting of signwatch, with its default and help. Read once, passed down explicitly."""

    model_config = SettingsConfigDict(env_prefix="SIGNWATCH_", extra="ignore", frozen=True)

    db: str = Field(DEFAULT_DB, description="Database URL: sqlite:///path.db or postgresql://user@host/db.")
    secret_key: SecretStr | None = Field(
        None,
        description="Key that encrypts tenant API keys at rest; else a 0600 key file beside the database.",
    )
    host: str = Field("127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port `serve` listens on.")
    max_body_bytes: int = Field(MIB, gt=0, description="Largest webhook body accepted (larger: 413).")
    archive_refused_bytes: int = Field(
        64 * 1024, ge=0, description="How much of a refused delivery's body is archived with its verdict."
    )
    commit_max_batch: int = Field(2000, gt=0, description="Most deliveries written by one group commit.")
    rotation_grace_hours: float = Field(
        72.0, ge=0, description="How long the previous API key stays valid after `tenants rotate-key`."
    )
    key_cache_seconds: float = Field(5.0, ge=0, description="How long verified tenant keys are cached.")
    geoip_city_mmdb: Path | None = Field(None, description="Optional MaxMind GeoLite2/GeoIP2 City .mmdb path.")
    pollers: list[PollerConfig] = Field(default_factory=list, description="Background Atlas pollers.")
    workers: int = Field(
        1, ge=1, description="`serve` worker processes. More help on PostgreSQL; on SQLite writers take turns."
    )
    server: str = Field("granian", description="ASGI server for `serve`: granian or uvicorn.")
    rules_engine: bool = Field(True, description="Run the rules engine and the notifier inside `serve`.")
    rules_tick_seconds: float = Field(
        5.0, gt=0, description="How often the engine evaluates when no events arrive (stuck, flatline, clearing)."
    )
    rules_lateness_minutes: int = Field(
        2, ge=0, description="Allowed lateness: time-driven conditions wait this long for late events."
    )
    rules_idle_seconds: float = Field(
        120.0, gt=0, description="After this long with no event at all, the wall clock drives time-driven rules."
    )
    notify_signing_key: SecretStr | None = Field(
        None, description="HMAC key signing outbound alert webhooks; else one generated and kept in the store."
    )
    notify_allow_private: list[str] = Field(
        default_factory=list, description="Hosts or CIDRs alert notifications may reach although private/loopback."
    )
    notify_max_age_hours: float = Field(
        24.0, gt=0, description="Alerts that fired longer ago than this (back-filled history) are not notified."
    )
    smtp_host: str = Field("localhost", description="SMTP server for alert e-mail.")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port.")
    smtp_from: str = Field("signwatch@localhost", description="Sender address of alert e-mail.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_username: str | None = Field(None, description="SMTP user name, when the server wants one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    public_url: str | None = Field(
        None, description="The URL clients reach signwatch at (accepted as a JWT assertion's audience)."
    )
    oauth_token_ttl_seconds: int = Field(
        3600, gt=0, le=86400, description="Lifetime of access tokens from POST /oauth/token."
    )
    session_ttl_hours: float = Field(
        8.0, gt=0, le=24 * 30, description="Lifetime of a dashboard session (cookie `signwatch_session`)."
    )
    session_cookie_secure: bool | None = Field(
        None, description="Mark session cookies Secure; default: when `public_url` is https."
    )
    oidc_issuer: str | None = Field(
        None, description="OpenID Connect issuer URL of the organisation's IdP (discovery); unset: no IdP sign-in."
    )
    oidc_client_id: str | None = Field(None, description="This install's client id at the IdP.")
    oidc_client_secret: SecretStr | None = Field(
        None, description="Client secret at the IdP; unset: a public client (PKCE only)."
    )
    oidc_scopes: str = Field("openid email profile groups", description="Scopes asked of the IdP at sign-in.")
    oidc_groups_claim: str = Field("groups", description="ID-token claim listing the user's groups.")
    oidc_username_claim: str = Field(
        "preferred_username", description="ID-token claim matched to the SCIM userName (then `email`)."
    )
    retention_events_days: int = Field(400, gt=0, description="Days events are kept (unless a tenant says otherwise).")
    retention_deliveries_days: int = Field(90, gt=0, description="Days raw deliveries are kept for replay.")
    retention_alerts_days: int = Field(730, gt=0, description="Days alerts are kept.")
    retention_interval_seconds: float = Field(3600.0, gt=0, description="How often the purge job runs in `serve`.")
    export_dir: Path | None = Field(
        None, description="Where export jobs write their files; default: `exports/` beside the SQLite database."
    )
    forwarders: list[ForwarderSettings] = Field(
        default_factory=list, description="Forwarders run inside `serve` (name, sink, format, tenant)."
    )
    config_file: Path | None = Field(None, description="TOML file with these settings (SIGNWATCH_CONFIG_FILE).")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))


class _TomlSource(PydanticBaseSettingsSource):
    """Settings from the TOML file named by SIGNWATCH_CONFIG_FILE, else ./signwatch.toml when present."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = Path(os.environ.get("SIGNWATCH_CONFIG_FILE", "signwatch.toml"))
        if not path.is_file():
            return {}
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        return dict(data.get("signwatch", data))


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and TOML file, with explicit (CLI) overrides winning when not None."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
