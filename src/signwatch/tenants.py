"""Tenants (Atlas accounts): creation with an encrypted API key, and key rotation with a grace period."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signwatch.crypto import SecretBox
from signwatch.events import utcnow
from signwatch.store import NotFound, Store, TenantRecord

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEFAULT_BUSINESS_HOURS: dict[str, object] = {
    "days": [0, 1, 2, 3, 4],
    "start": "08:00",
    "end": "18:00",
    "holidays": [],
}


class InvalidTenant(ValueError):
    pass


def validate(slug: str, timezone: str, api_key: str) -> None:
    if not SLUG.match(slug):
        raise InvalidTenant("tenant name: lowercase letters, digits, - and _, at most 64, starting alphanumeric")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidTenant(f"unknown time zone {timezone!r} (use Area/City, e.g. Europe/Berlin)") from exc
    if len(api_key) < 16:
        raise InvalidTenant("the API key must be at least 16 characters")


def add_tenant(store: Store, box: SecretBox, slug: str, api_key: str, timezone: str = "UTC") -> TenantRecord:
    validate(slug, timezone, api_key)
    record = TenantRecord(
        slug=slug,
        timezone=timezone,
        business_hours=dict(DEFAULT_BUSINESS_HOURS),
        api_key=box.encrypt(api_key),
        previous_api_key=None,
        previous_key_expires=None,
        created_at=utcnow(),
    )
    store.add_tenant(record)
    return record


def rotate_key(
    store: Store, box: SecretBox, slug: str, new_key: str, grace: timedelta, now: datetime | None = None
) -> datetime:
    """Make `new_key` current; the old key stays valid until the returned time."""
    record = store.get_tenant(slug)
    if record is None:
        raise NotFound(slug)
    validate(slug, record.timezone, new_key)
    until = (now or utcnow()) + grace
    store.set_tenant_keys(slug, box.encrypt(new_key), record.api_key, until)
    return until
