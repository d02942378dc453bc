"""Test helpers: build and sign Atlas deliveries the way Atlas does."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import orjson

from signwatch.sources.signatures import sign

_ids = itertools.count(1)


def atlas_payload(
    event: str = "envelope.sent",
    *,
    id: str | None = None,
    envelope: str | None = None,
    at: str = "2026-11-20T10:00:00Z",
    email: str = "alice@acme.example",
    user_id: str = "usr_alice",
    ip: str = "81.2.69.142",
    bu: str = "sales",
    **extra: Any,
) -> dict[str, Any]:
    n = next(_ids)
    body: dict[str, Any] = {
        "id": id or f"evt_{n}",
        "event": event,
        "created_at": at,
        "envelope_id": envelope or f"env_{n}",
        "data": {
            "sender": {"user_id": user_id, "email": email},
            "ip_address": ip,
            "user_agent": "Mozilla/5.0",
            "metadata": {"client_reference_id": f"CRM-{n}", "business_unit": bu},
        },
    }
    body.update(extra)
    return body


def signed(payload: dict[str, Any] | bytes, key: str) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return body, {"X-Atlas-Signature": sign(body, key), "Content-Type": "application/json"}


def shared_dir() -> Path:
    """The read-only reference data beside the checkout (../shared: NAB, OCSF, ECS): SIGNWATCH_SHARED_DIR, else
    the nearest ancestor holding `shared/`, else /work/shared."""
    if os.environ.get("SIGNWATCH_SHARED_DIR"):
        return Path(os.environ["SIGNWATCH_SHARED_DIR"])
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "DESIGN.md").is_file():
            return parent / "shared"
    return Path("/work/shared")
