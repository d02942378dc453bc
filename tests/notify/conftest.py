"""Real local receivers for the notify tests: an HTTP(S) server that records requests, SMTP servers (aiosmtpd)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import LiveServer, free_port

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
KEY = "notify-signing-key-0123456789"

ALERT: dict[str, Any] = {
    "id": "alt_01JD7Q",
    "ruleId": "rul_void",
    "ruleName": "Void-rate spike",
    "tenant": "acme",
    "groupKey": "acme",
    "severity": "high",
    "mode": "active",
    "state": "open",
    "firedAt": "2026-11-20T11:59:00Z",
    "resolvedAt": None,
    "value": 0.4231,
    "threshold": None,
    "expected": 0.05,
    "windowStart": "2026-11-20T11:00:00Z",
    "windowEnd": "2026-11-20T12:00:00Z",
    "evidence": {"topActors": [{"email": "mallory@acme.example", "count": 31}], "sampleEventIds": ["evt_1"]},
    "runbook": "docs/runbooks/void-rate-spike.md",
}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An HTTP receiver: records every request; `?status=`, `?retry_after=` and `?sleep=` shape the answer."""

    url: str
    requests: list[Received] = field(default_factory=list)

    def last(self) -> Received:
        assert self.requests, "the receiver got no request"
        return self.requests[-1]


def receiver_app(receiver: Receiver) -> Starlette:
    async def record(request: Request) -> Response:
        receiver.requests.append(Received(request.url.path, dict(request.headers), await request.body()))
        if "sleep" in request.query_params:
            await asyncio.sleep(float(request.query_params["sleep"]))
        status = int(request.query_params.get("status", "200"))
        headers = {}
        if "retry_after" in request.query_params:
            headers["Retry-After"] = request.query_params["retry_after"]
        if 300 <= status < 400:
            headers["Location"] = "http://169.254.169.254/latest/meta-data/"
        return Response("ok" if status < 300 else "no", status_code=status, headers=headers)

    return Starlette(routes=[Route("/{path:path}", record, methods=["POST", "GET"])])


class Serving(LiveServer):
    """A test receiver on 127.0.0.1 (optionally TLS), without a lifespan."""

    def __init__(self, app: Starlette, *, ssl_certfile: str | None = None, ssl_keyfile: str | None = None) -> None:
        super().__init__(app, lifespan="off", ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    box = Receiver(url="")
    with Serving(receiver_app(box)) as serving:
        box.url = f"http://127.0.0.1:{serving.port}"
        yield box


@dataclass(frozen=True)
class Cert:
    certfile: Path
    keyfile: Path


@pytest.fixture(scope="module")
def localhost_cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """A self-signed certificate valid for the DNS name `localhost` only (no IP SAN)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(minutes=5))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Cert(certfile, keyfile)


class Inbox:
    """An aiosmtpd handler that keeps accepted messages, or answers RCPT with a fixed refusal."""

    def __init__(self, rcpt_reply: str | None = None) -> None:
        self.rcpt_reply = rcpt_reply
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


class Smtp:
    """An aiosmtpd Controller on 127.0.0.1 with a free port, stopped on exit."""

    def __init__(self, inbox: Inbox, **kwargs: Any) -> None:
        self.inbox = inbox
        self.port = free_port()
        self.controller = Controller(inbox, hostname="127.0.0.1", port=self.port, server_hostname="mx.test", **kwargs)

    def __enter__(self) -> Smtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
