"""Opaque, versioned cursors over ingestion order (DESIGN.md §5): `v1.` + base64url of the position."""

from __future__ import annotations

import base64
import binascii

import orjson

VERSION = "v1"


class BadCursor(ValueError):
    pass


def encode(seq: int) -> str:
    raw = orjson.dumps({"s": seq})
    return f"{VERSION}." + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(cursor: str | None) -> int:
    """The sequence number a cursor resumes after; 0 for no cursor. Raises BadCursor."""
    if not cursor:
        return 0
    version, _, body = cursor.partition(".")
    if version != VERSION or not body:
        raise BadCursor("unknown cursor version")
    try:
        data = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        seq = data["s"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise BadCursor("malformed cursor") from exc
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise BadCursor("malformed cursor")
    return seq
