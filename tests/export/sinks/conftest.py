"""Shared pieces of the sink tests: records to send, a TLS certificate authority, the machine's message servers."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from signwatch.export.sinks import Record, Sink, SinkError
from tests.conftest import LiveServer, free_port

T = TypeVar("T")

REDIS_URL = os.environ.get("SIGNWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("SIGNWATCH_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
NATS_URL = os.environ.get("SIGNWATCH_TEST_NATS_URL", "nats://127.0.0.1:4222")


def records(count: int, *, start: int = 1, tenant: str = "acme") -> list[Record]:
    """NDJSON records as the forwarder makes them: the event wire JSON, one line each."""
    out = []
    for seq in range(start, start + count):
        line = orjson.dumps(
            {
                "id": f"ev_{seq:032x}",
                "seq": seq,
                "tenant": tenant,
                "type": "envelope.sent",
                "occurredAt": "2026-11-20T10:00:00.250Z",
                "actor": {"email": f"user{seq}@acme.example"},
            }
        )
        out.append(Record(seq=seq, id=f"ev_{seq:032x}", tenant=tenant, line=line))
    return out


def cef(seq: int, *, tenant: str = 'ac"me]\\') -> Record:
    """A CEF record whose tenant needs SD-PARAM escaping and whose header holds an escaped pipe."""
    line = f"CEF:0|Signwatch|signwatch|0.1|envelope.voided|Envelope vo\\|ided|5|suser=a@b.example cs1={seq}"
    return Record(seq=seq, id=f"ev_cef_{seq}", tenant=tenant, line=line.encode())


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def fails(sink: Sink, batch: list[Record], *, retryable: bool) -> SinkError:
    """Open `sink`, send `batch`, expect a SinkError with that `retryable`; the sink is closed after."""

    async def go() -> SinkError:
        try:
            await sink.open()
            await sink.send(batch)
        except SinkError as exc:
            return exc
        finally:
            await sink.close()
        raise AssertionError(f"{sink.name}: send succeeded, expected a SinkError")

    error = run(go())
    assert error.retryable is retryable, str(error)
    return error


async def send_all(sink: Sink, *batches: list[Record]) -> None:
    await sink.open()
    try:
        for batch in batches:
            await sink.send(batch)
    finally:
        await sink.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


def require_server(url: str, what: str) -> str:
    """`url` when its server accepts TCP connections; otherwise fail (CI starts these servers: no silent skip)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 0
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{what} at {host}:{port} is not reachable ({exc}); start it (CI does) or set its env URL")
    return url


@dataclass(frozen=True)
class Pki:
    """A CA and a server certificate it signed for 127.0.0.1 and localhost."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_pki(folder: Path) -> Pki:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signwatch test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    pki.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(_key_pem(key))
    return pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A second, unrelated CA: its certificates must not be trusted by a sink given `pki`'s CA."""
    return make_pki(tmp_path_factory.mktemp("other-pki"))


class Http(LiveServer):
    """An ASGI test receiver on a free loopback port, optionally over TLS, without a lifespan."""

    def __init__(self, app: Any, *, tls: Pki | None = None) -> None:
        super().__init__(
            app,
            lifespan="off",
            ssl_certfile=tls.cert_file if tls else None,
            ssl_keyfile=tls.key_file if tls else None,
        )


def unique(prefix: str) -> str:
    return f"{prefix}{os.getpid()}{os.urandom(4).hex()}"
