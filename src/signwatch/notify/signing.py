"""Notify (design §1 notify/): signing — the HMAC signature on outbound webhooks, and its check for receivers.

The signature covers `f"{timestamp}."` followed by the raw body, keyed by the install's signing key, so a
receiver that checks the timestamp against its clock can refuse a captured request replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

SCHEME = "sha256="
TIMESTAMP_HEADER = "X-Signwatch-Timestamp"
SIGNATURE_HEADER = "X-Signwatch-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def timestamp(now: datetime) -> str:
    """The `X-Signwatch-Timestamp` value: whole Unix seconds of an aware `now`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    return str(int(now.timestamp()))


def sign(body: bytes, timestamp: str, key: str) -> str:
    """The `X-Signwatch-Signature` value: `sha256=<hex HMAC-SHA256 of "<timestamp>." + body>`."""
    return SCHEME + _mac(body, timestamp, key).hex()


def verify_signature(
    body: bytes,
    timestamp: str,
    signature: str,
    key: str,
    *,
    now: datetime,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True when `signature` is ours for `body` at `timestamp` and that timestamp is within `tolerance_seconds`
    of `now` (either side, for clock skew). The digest comparison is constant-time."""
    stamp = timestamp.strip()
    try:
        sent = int(stamp)
    except ValueError:
        return False
    if now.tzinfo is None or abs(now.timestamp() - sent) > tolerance_seconds:
        return False
    value = signature.strip()
    if value[: len(SCHEME)].lower() != SCHEME:
        return False
    try:
        given = bytes.fromhex(value[len(SCHEME) :])
    except ValueError:
        return False
    return hmac.compare_digest(_mac(body, stamp, key), given)


def _mac(body: bytes, timestamp: str, key: str) -> bytes:
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).digest()
