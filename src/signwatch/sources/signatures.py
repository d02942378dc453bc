"""Webhook signature verification: HMAC-SHA256 over the raw body, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SCHEME = "sha256="


def sign(body: bytes, key: str) -> str:
    """The `X-Atlas-Signature` header value for `body` under `key`."""
    return SCHEME + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, keys: Iterable[str]) -> bool:
    """True when `header` is `sha256=<hex>` of `body` under one of `keys` (current and rotating-out).

    Every key is tried, so the time taken does not tell which one matched, and each comparison is
    constant-time.
    """
    if not header:
        return False
    value = header.strip()
    if value[:7].lower() != SCHEME:
        return False
    try:
        given = bytes.fromhex(value[7:].strip())
    except ValueError:
        return False
    ok = False
    for key in keys:
        expected = hmac.new(key.encode(), body, hashlib.sha256).digest()
        ok |= hmac.compare_digest(expected, given)
    return ok
