"""HTTPS sink against a local receiver that checks the signature the way receivers are told to."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from signwatch.export.sinks import open_sink
from signwatch.notify import verify_signature
from tests.export.sinks.conftest import Http, Pki, closed_port, fails, records, run, send_all

KEY = "export-signing-key-0123456789"


@dataclass
class Inbox:
    url: str = ""
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def inbox_app(inbox: Inbox) -> Starlette:
    async def receive(request: Request) -> Response:
        body = await request.body()
        ok = verify_signature(
            body,
            request.headers.get("x-signwatch-timestamp", ""),
            request.headers.get("x-signwatch-signature", ""),
            KEY,
            now=datetime.now(UTC),
        )
        if not ok:
            return Response("bad signature", status_code=401)
        inbox.bodies.append(body)
        inbox.headers.append(dict(request.headers))
        inbox.paths.append(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))
        return Response(status_code=int(request.query_params.get("status", "204")))

    return Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])])


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    with Http(inbox_app(box)) as server:
        box.url = server.url
        yield box


def test_batch_is_posted_as_signed_ndjson(inbox: Inbox) -> None:
    first, second = records(3), records(2, start=4)
    sink = open_sink(f"{inbox.url}/hooks/signwatch?source=sw&timeout=5", signing_key=KEY)
    run(send_all(sink, first, second))

    assert inbox.bodies == [b"".join(r.line + b"\n" for r in batch) for batch in (first, second)]
    assert inbox.paths == ["/hooks/signwatch?source=sw"] * 2  # our `timeout` option is not passed on
    headers = inbox.headers[0]
    assert headers["content-type"] == "application/x-ndjson"
    assert (headers["x-signwatch-first-seq"], headers["x-signwatch-last-seq"]) == ("1", "3")


def test_a_wrong_key_is_refused_by_the_receiver_and_not_retryable(inbox: Inbox) -> None:
    error = fails(open_sink(f"{inbox.url}/in", signing_key="some-other-key"), records(1), retryable=False)
    assert "401" in str(error)


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (429, True), (408, True), (400, False), (302, False)])
def test_status_policy(inbox: Inbox, status: int, retryable: bool) -> None:
    fails(open_sink(f"{inbox.url}/in?status={status}", signing_key=KEY), records(1), retryable=retryable)


def test_wrong_port_is_retryable() -> None:
    fails(open_sink(f"http://127.0.0.1:{closed_port()}/in", signing_key=KEY), records(1), retryable=True)


def test_untrusted_certificate_is_not_retryable(pki: Pki, other_pki: Pki) -> None:
    with Http(inbox_app(Inbox()), tls=pki) as server:
        url = f"https://127.0.0.1:{server.port}/in"
        run(send_all(open_sink(url, signing_key=KEY, tls_verify=str(pki.ca_file)), records(1)))
        error = fails(open_sink(url, signing_key=KEY, tls_verify=str(other_pki.ca_file)), records(1), retryable=False)
        assert "certificate" in str(error)


def test_private_receivers_can_be_refused() -> None:
    error = fails(open_sink("http://127.0.0.1:9/in", signing_key=KEY, allow_private=False), [], retryable=False)
    assert "loopback" in str(error)


def test_a_signing_key_is_required() -> None:
    with pytest.raises(ValueError, match="signing key"):
        open_sink("https://receiver.example/in")
