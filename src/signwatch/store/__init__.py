"""The store: one interface (`Store`, in base.py) and its SQL implementation for SQLite and PostgreSQL."""

from signwatch.store.base import (
    AlreadyExists,
    DeliveryRecord,
    EventFilter,
    EventPage,
    GroupMapping,
    NotFound,
    Scope,
    Store,
    StoreUnavailable,
    TenantRecord,
    TokenRecord,
    WriteItem,
    WriteOutcome,
)
from signwatch.store.sql import SqlStore


def open_store(url: str) -> SqlStore:
    """The store behind a database URL (sqlite:///… or postgresql://…)."""
    return SqlStore(url)


__all__ = [
    "AlreadyExists",
    "DeliveryRecord",
    "EventFilter",
    "EventPage",
    "GroupMapping",
    "NotFound",
    "Scope",
    "SqlStore",
    "Store",
    "StoreUnavailable",
    "TenantRecord",
    "TokenRecord",
    "WriteItem",
    "WriteOutcome",
    "open_store",
]
