"""The monitor's own audit trail: who read, exported or changed what, when, on which tenant, with what result.

Records are append-only and hash-chained: each carries the SHA-256 of its canonical content together with
the previous record's hash, so altering, inserting or deleting a record anywhere breaks every hash after it.
`verify` walks the chain (`signwatch audit verify`); the store appends under its write lock, so the chain
has one order on every backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import orjson

from signwatch.events import rfc3339, to_us

GENESIS = "0" * 64
SECRET_PARAMS = frozenset({"signature", "token", "client_secret", "assertion", "password", "api_key"})


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor: str
    action: str  # e.g. data.read, export.page, rule.create, alert.ack, token.create, oauth.token, retention.purge
    actor_id: str | None = None
    tenant: str | None = None
    target: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    result_count: int | None = None
    status: int = 200
    seq: int | None = None
    prev_hash: str = ""
    hash: str = ""

    def wire(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": rfc3339(self.at),
            "actor": self.actor,
            "actorId": self.actor_id,
            "action": self.action,
            "tenant": self.tenant,
            "target": self.target,
            "params": self.params,
            "resultCount": self.result_count,
            "status": self.status,
            "prevHash": self.prev_hash,
            "hash": self.hash,
        }


def clean(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as recorded: secrets (signatures, tokens, passwords) replaced by a marker."""
    return {k: ("[redacted]" if k.lower() in SECRET_PARAMS else v) for k, v in params.items()}


def digest(record: AuditRecord, prev_hash: str) -> str:
    """The record's hash: SHA-256 over the previous hash and the record's canonical JSON (sorted keys)."""
    body = {
        "at": to_us(record.at),
        "actor": record.actor,
        "actorId": record.actor_id,
        "action": record.action,
        "tenant": record.tenant,
        "target": record.target,
        "params": record.params,
        "resultCount": record.result_count,
        "status": record.status,
    }
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()


def chain(records: Iterable[AuditRecord], prev_hash: str) -> list[AuditRecord]:
    """`records` linked after `prev_hash`, each with its prev_hash and hash."""
    out = []
    for r in records:
        linked = replace(r, prev_hash=prev_hash, hash=digest(r, prev_hash))
        out.append(linked)
        prev_hash = linked.hash
    return out


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    records: int
    broken_at: int | None = None  # the first record whose hash or link does not hold
    reason: str | None = None
    head: str | None = None  # the newest record's hash, when the chain holds


def verify(records: Iterable[AuditRecord]) -> Verdict:
    """Check the chain in `seq` order: each record links to the one before (a deleted or inserted record
    breaks the link of the next) and its content matches its hash (an altered one does not). Sequence
    numbers may have gaps (PostgreSQL sequences skip on rollback): the links are what counts. Removing the
    newest records leaves a shorter valid chain, so keep the head hash (`audit verify` prints it) elsewhere."""
    prev, count = GENESIS, 0
    for r in records:
        count += 1
        if r.prev_hash != prev:
            return Verdict(False, count, r.seq, "its link to the previous record does not match (deleted or inserted)")
        if digest(r, prev) != r.hash:
            return Verdict(False, count, r.seq, "its content does not match its hash (altered)")
        prev = r.hash
    return Verdict(True, count, head=prev)
