"""Signed webhook delivery, checked by a tiny receiver of the test's own that recomputes the HMAC."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from signwatch.simulate import SendReport, SimEvent, SimRun, SimTenant, send_events, sign
from signwatch.simulate.sender import build_request


@dataclass
class Receiver:
    """Accepts Atlas webhooks the way signwatch should: verify the signature, store once."""

    keys: dict[str, str]
    fail_first: int = 0
    received: dict[str, dict[str, object]] = field(default_factory=dict)
    accounts: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)

    def app(self) -> Starlette:
        async def per_tenant(request: Request) -> Response:
            return await self.accept(request, request.path_params["tenant"])

        async def platform(request: Request) -> Response:
            return await self.accept(request, request.headers.get("atlas-account", ""))

        return Starlette(
            routes=[
                Route("/webhooks/atlas/{tenant}", per_tenant, methods=["POST"]),
                Route("/webhooks/atlas", platform, methods=["POST"]),
            ]
        )

    async def accept(self, request: Request, tenant: str) -> Response:
        body = await request.body()
        key = self.keys.get(tenant)
        signature = request.headers.get("x-atlas-signature", "")
        if key is None or not hmac.compare_digest(signature, verify_value(body, key)):
            return JSONResponse({"error": {"code": "bad_signature", "message": "no"}}, status_code=401)
        assert request.headers["content-type"] == "application/json"
        payload = json.loads(body)
        assert body == json.dumps(payload, separators=(",", ":")).encode()  # compact JSON
        self.attempts[payload["id"]] += 1
        if self.attempts[payload["id"]] <= self.fail_first:
            return Response(status_code=503, headers={"Retry-After": "0"})
        self.accounts[tenant] += 1
        if payload["id"] in self.received:
            return JSONResponse({"status": "duplicate"}, status_code=200)
        self.received[payload["id"]] = payload
        return JSONResponse({"status": "stored"}, status_code=202)


def verify_value(body: bytes, key: str) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def client_for(receiver: Receiver) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app()), base_url="http://signwatch")


async def no_wait(seconds: float) -> None:
    return None


def sample(run: SimRun, count: int = 300) -> list[SimEvent]:
    return run.events[:: len(run.events) // count][:count]


def send(events: list[SimEvent], tenants: list[SimTenant], receiver: Receiver, **options: Any) -> SendReport:
    async def go() -> SendReport:
        async with client_for(receiver) as client:
            return await send_events(events, tenants, "http://signwatch", client=client, **options)

    return asyncio.run(go())


def test_sign_matches_hmac_sha256_test_vector() -> None:
    # RFC 4231 test case 2
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert sign(b"what do ya want for nothing?", "Jefe") == f"sha256={expected}"


@given(body=st.binary(max_size=512), key=st.text(min_size=1, max_size=40), flip=st.integers(min_value=0))
def test_signature_verifies_and_any_change_breaks_it(body: bytes, key: str, flip: int) -> None:
    assert hmac.compare_digest(sign(body, key), verify_value(body, key))
    if body:
        index = flip % len(body)
        changed = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
        assert sign(changed, key) != sign(body, key)


def test_every_event_arrives_signed_and_intact(run: SimRun) -> None:
    events = sample(run)
    tenants = list(run.config.tenants)
    receiver = Receiver(keys={tenant.slug: tenant.api_key for tenant in tenants})
    finished: list[int] = []
    report = send(events, tenants, receiver, progress=finished.append, concurrency=8)
    assert report.stored == report.attempted == len(events) and report.failed == 0
    assert sum(finished) == len(events)
    assert receiver.received == {event.id: event.payload for event in events}
    assert set(receiver.accounts) == {event.tenant for event in events}


def test_resending_counts_duplicates(run: SimRun) -> None:
    events = sample(run, 50)
    receiver = Receiver(keys={tenant.slug: tenant.api_key for tenant in run.config.tenants})
    send(events, list(run.config.tenants), receiver)
    again = send(events, list(run.config.tenants), receiver)
    assert again.duplicates == 50 and again.stored == 0 and again.failed == 0


def test_platform_mode_names_the_account_in_a_header(run: SimRun) -> None:
    events = sample(run, 60)
    receiver = Receiver(keys={tenant.slug: tenant.api_key for tenant in run.config.tenants})
    report = send(events, list(run.config.tenants), receiver, platform_mode=True)
    assert report.stored == 60
    request = build_request(events[0], run.tenants[events[0].tenant], "http://signwatch/", platform_mode=True)
    assert request.url == "http://signwatch/webhooks/atlas"
    assert request.headers["Atlas-Account"] == events[0].tenant


def test_wrong_key_is_refused_and_reported(run: SimRun) -> None:
    events = [event for event in sample(run, 40) if event.tenant == "acme"]
    receiver = Receiver(keys={"acme": "the-real-key"})
    report = send(events, [SimTenant("acme", "a-wrong-key", "America/New_York")], receiver)
    assert report.by_status[401] == len(events) == report.failed
    assert report.retries == 0 and receiver.received == {}
    assert report.error_samples and "HTTP 401" in report.error_samples[0]


def test_503_with_retry_after_is_retried(run: SimRun) -> None:
    events = sample(run, 40)
    receiver = Receiver(keys={tenant.slug: tenant.api_key for tenant in run.config.tenants}, fail_first=2)
    report = send(events, list(run.config.tenants), receiver)
    assert report.stored == 40 and report.failed == 0
    assert report.retries == 80
    assert set(receiver.attempts.values()) == {3}


def test_gives_up_after_max_attempts(run: SimRun) -> None:
    events = sample(run, 10)
    receiver = Receiver(keys={tenant.slug: tenant.api_key for tenant in run.config.tenants}, fail_first=99)
    report = send(events, list(run.config.tenants), receiver, max_attempts=3, sleep=no_wait)
    assert report.by_status[503] == 10 == report.failed
    assert report.retries == 20


def test_connection_errors_are_retried_then_reported(run: SimRun) -> None:
    events = sample(run, 5)

    async def go() -> SendReport:
        return await send_events(
            events, run.tenants, "http://127.0.0.1:9", max_attempts=2, sleep=no_wait, concurrency=2
        )

    report = asyncio.run(go())
    assert report.connection_errors == 5 == report.failed
    assert report.retries == 5
    assert "ConnectError" in report.error_samples[0]


def test_unknown_tenant_is_refused_before_sending(run: SimRun) -> None:
    with pytest.raises(ValueError, match="no key for tenant"):
        send(sample(run, 5), [], Receiver(keys={}))
