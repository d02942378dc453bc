"""Replay of archived deliveries on both backends: each verdict judged again with today's keys and code, the
events exactly what ingest would store, a second run changing nothing, and the process left as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from signwatch.config import Settings
from signwatch.crypto import load_box
from signwatch.events import Event, Geo
from signwatch.ingest import KeyRing, ReplayReport, replay
from signwatch.sources import atlas
from signwatch.sources.docusign import parse_connect, sign_connect
from signwatch.store import DeliveryRecord, Scope, SqlStore, StoreUnavailable, WriteItem
from tests.conftest import KEY, OTHER_KEY, SECRET
from tests.helpers import atlas_payload, signed
from tests.sources.test_docusign import connect_message

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SPAN = (T0 - timedelta(days=1), T0 + timedelta(days=1))


def geo(ip: str) -> Geo:
    return Geo("GB", "Andrews & Arnold Ltd", "81.2.64.0/18")


def hook(n: int, payload: dict[str, Any] | bytes, key: str, **fields: Any) -> DeliveryRecord:
    body, headers = signed(payload, key)
    values: dict[str, Any] = {
        "id": f"dlv_{n:09d}",
        "received_at": T0 + timedelta(seconds=n),
        "tenant": "acme",
        "source": "atlas",
        "path": "/webhooks/atlas/acme",
        "headers": {},
        "signature": headers["X-Atlas-Signature"],
        "body": body,
        "body_size": len(body),
    }
    return DeliveryRecord(**{**values, **fields})


@pytest.fixture
def keyring(store: SqlStore, settings: Settings, tenants: dict[str, str]) -> KeyRing:
    return KeyRing(store, load_box(SECRET, settings.db), 0)


def test_each_verdict_is_judged_again_and_a_second_run_changes_nothing(store: SqlStore, keyring: KeyRing) -> None:
    kept = atlas_payload(at="2026-11-20T09:00:00Z")
    kept_event = atlas.parse_event(kept, tenant="acme", received_at=T0, geo=geo, delivery_id="dlv_000000001")
    refused_then = atlas_payload(event="envelope.signed")
    unclaimed = atlas_payload()
    message = orjson.dumps(connect_message("envelope-sent"))
    connect = DeliveryRecord(
        "dlv_000000007",
        T0 + timedelta(seconds=7),
        "acme",
        "docusign-connect",
        "/webhooks/docusign/acme",
        {"x-docusign-signature-1": sign_connect(message, KEY)},
        None,
        message,
        len(message),
        verdict="bad_signature",
        status_code=401,
    )
    archived = [
        WriteItem(hook(1, kept, KEY, received_at=T0), kept_event),
        WriteItem(hook(2, refused_then, KEY, verdict="bad_signature", status_code=401)),
        WriteItem(hook(3, unclaimed, OTHER_KEY, tenant=None, path="/webhooks/atlas/globex", verdict="unknown_tenant")),
        WriteItem(hook(4, atlas_payload(), KEY, body_truncated=True, verdict="bad_json", status_code=400)),
        WriteItem(hook(5, b"{not json", KEY, verdict="bad_json", status_code=400)),
        WriteItem(hook(6, atlas_payload(), "an-unknown-key-000000", verdict="bad_signature", status_code=401)),
        WriteItem(connect),
        WriteItem(hook(8, atlas_payload(), KEY, verdict="too_large", status_code=413)),
    ]
    assert store.write_batch(archived) == ["stored", *["archived"] * 7]

    first = replay(store, keyring, geo, *SPAN)
    assert first == ReplayReport(deliveries=8, inserted=3, updated=0, unchanged=1, refused=4, truncated=1)
    assert gc.isenabled()
    second = replay(store, keyring, geo, *SPAN)
    assert second == ReplayReport(deliveries=8, inserted=0, updated=0, unchanged=4, refused=4, truncated=1)
    assert replay(store, keyring, geo, *SPAN, tenant="globex").inserted == 0

    expected = [
        kept_event,
        atlas.parse_event(refused_then, tenant="acme", received_at=T0 + timedelta(seconds=2), geo=geo),
        atlas.parse_event(unclaimed, tenant="globex", received_at=T0 + timedelta(seconds=3), geo=geo),
        parse_connect(orjson.loads(message), tenant="acme", received_at=T0 + timedelta(seconds=7), geo=geo),
    ]
    stored = store.get_events_by_id(Scope.all(), [e.id for e in expected])
    by_id = {e.id: e for e in stored}
    deliveries = ("dlv_000000001", "dlv_000000002", "dlv_000000003", "dlv_000000007")
    for want, delivery in zip(expected, deliveries, strict=True):
        assert _content(by_id[want.id]) == _content(want) | {"delivery_id": delivery}


def test_a_failed_batch_is_reported_and_collection_resumes(store: SqlStore, keyring: KeyRing) -> None:
    store.write_batch([WriteItem(hook(1, atlas_payload(), KEY, verdict="bad_signature", status_code=401))])

    class Failing:
        def iter_deliveries(self, *args: Any) -> Iterator[list[DeliveryRecord]]:
            return store.iter_deliveries(*args)

        def apply_replay(self, events: Sequence[Event]) -> tuple[int, int, int]:
            raise StoreUnavailable("disk full")

    with pytest.raises(StoreUnavailable):
        replay(Failing(), keyring, geo, *SPAN)  # type: ignore[arg-type]
    assert gc.isenabled()
    gc.disable()
    try:
        replay(store, keyring, geo, *SPAN)
        assert not gc.isenabled()  # a caller's own setting is left alone
    finally:
        gc.enable()


def _content(e: Event) -> dict[str, Any]:
    return {name: getattr(e, name) for name in e.__slots__ if name not in ("seq", "ingested_at")}
