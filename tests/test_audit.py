"""The audit trail's hash chain as a pure function: any altered, inserted or deleted record is found."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from signwatch.audit import GENESIS, AuditRecord, chain, clean, verify

T0 = datetime(2026, 11, 25, 12, tzinfo=UTC)


def trail(n: int = 5) -> list[AuditRecord]:
    records = [
        AuditRecord(T0 + timedelta(seconds=i), "siem", "data.read", params={"limit": i}, result_count=i)
        for i in range(n)
    ]
    return [replace(r, seq=i + 1) for i, r in enumerate(chain(records, GENESIS))]


def test_an_intact_chain_verifies_and_names_its_head() -> None:
    records = trail()
    verdict = verify(records)
    assert verdict.ok and verdict.records == 5 and verdict.head == records[-1].hash


def test_alteration_deletion_and_insertion_are_found() -> None:
    records = trail()
    altered = [*records[:2], replace(records[2], result_count=999), *records[3:]]
    assert verify(altered).broken_at == 3 and "altered" in (verify(altered).reason or "")
    deleted = [*records[:2], *records[3:]]
    assert verify(deleted).broken_at == 4
    forged = replace(records[0], seq=99, actor="mallory")
    inserted = [*records[:2], forged, *records[2:]]
    assert not verify(inserted).ok
    relinked = [*records[:2], *chain([replace(records[2], actor="mallory")], records[1].hash), *records[3:]]
    assert verify(relinked).broken_at == 4  # rewriting one record's hash breaks the next link


def test_secrets_are_not_recorded() -> None:
    assert clean({"signature": "abc", "limit": "5", "client_secret": "x"}) == {
        "signature": "[redacted]",
        "limit": "5",
        "client_secret": "[redacted]",
    }
