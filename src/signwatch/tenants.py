"""Tenants (Atlas accounts): creation with an encrypted API key, and key rotation with a grace period."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta
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


def organization_id(store: Store) -> str:
    """The installation's organization id (DESIGN.md §4: one install, one organization): generated once, a
    UUID as DocuSign uses, and the `{organizationId}` of the Monitor-compatible stream."""
    return store.set_meta_default("organization_id", str(uuid.uuid4()))


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def set_calendar(
    store: Store,
    slug: str,
    *,
    timezone: str | None = None,
    days: str | None = None,
    start: str | None = None,
    end: str | None = None,
    holidays: str | None = None,
) -> TenantRecord:
    """Change a tenant's time zone, business days (`mon-fri`, `mon,wed,fri`), hours and holidays (ISO dates)
    — what schedules (`offHoursOnly`/`businessHoursOnly`) and the anomaly kind's hour of week read."""
    record = store.get_tenant(slug)
    if record is None:
        raise NotFound(slug)
    zone = timezone or record.timezone
    validate(slug, zone, "x" * 16)
    hours = dict(record.business_hours)
    if days is not None:
        hours["days"] = _days(days)
    for name, value in (("start", start), ("end", end)):
        if value is not None:
            try:
                time.fromisoformat(value) if value != "24:00" else None
            except ValueError as exc:
                raise InvalidTenant(f"{name} must be HH:MM, e.g. 08:30") from exc
            hours[name] = value
    if str(hours.get("start", "08:00")) >= str(hours.get("end", "18:00")):
        raise InvalidTenant("business hours must start before they end")
    if holidays is not None:
        try:
            hours["holidays"] = sorted(
                {date.fromisoformat(d.strip()).isoformat() for d in holidays.split(",") if d.strip()}
            )
        except ValueError as exc:
            raise InvalidTenant("holidays are ISO dates, comma-separated: 2026-12-24,2026-12-25") from exc
    store.set_tenant_calendar(slug, zone, hours)
    updated = store.get_tenant(slug)
    assert updated is not None
    return updated


def _days(text: str) -> list[int]:
    out: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = part.strip().partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise InvalidTenant("days are mon..sun, as a range (mon-fri) or a list (mon,wed,fri)")
        a, b = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        if b < a:
            raise InvalidTenant(f"day range {part.strip()!r} runs backwards")
        out.update(range(a, b + 1))
    return sorted(out)


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
