"""Webhook and Slack delivery over real HTTP(S) to a local receiver: signature, body shapes, status policy."""

from __future__ import annotations

import asyncio
import ssl
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from signwatch.notify import NotifySettings, Outcome, Recipient, deliver, verify_signature
from signwatch.notify.channels import retry_after
from tests.conftest import free_port
from tests.notify.conftest import ALERT, KEY, NOW, Cert, Receiver, Serving, receiver_app

LOCAL = ("127.0.0.1/32",)


def send(
    recipient: Recipient, alert: dict[str, Any] = ALERT, *, verify: ssl.SSLContext | bool = True, **settings: Any
) -> Outcome:
    async def go() -> Outcome:
        async with httpx.AsyncClient(trust_env=False, verify=verify) as http:
            return await deliver(
                recipient, alert, settings=NotifySettings(signing_key=KEY, **settings), http=http, now=NOW
            )

    return asyncio.run(go())


def test_webhook_is_signed_and_verifies(receiver: Receiver) -> None:
    outcome = send(Recipient("webhook", f"{receiver.url}/hook"), allow_private=LOCAL)
    assert outcome == Outcome(ok=True, retryable=False, detail="HTTP 200")
    got = receiver.last()
    assert got.path == "/hook"
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-signwatch-alert-id"] == "alt_01JD7Q"
    assert got.headers["host"] == receiver.url.removeprefix("http://")
    stamp, signature = got.headers["x-signwatch-timestamp"], got.headers["x-signwatch-signature"]
    assert stamp == str(int(NOW.timestamp()))
    assert verify_signature(got.body, stamp, signature, KEY, now=NOW + timedelta(seconds=5))
    assert not verify_signature(got.body, stamp, signature, KEY, now=NOW + timedelta(minutes=10))  # a replay
    assert not verify_signature(got.body, stamp, signature, "another-key", now=NOW)
    assert orjson.loads(got.body) == {"type": "alert.fired", "alert": ALERT}


def test_resolved_webhook(receiver: Receiver) -> None:
    resolved = {**ALERT, "state": "resolved", "resolvedAt": "2026-11-20T13:00:00Z"}
    assert send(Recipient("webhook", f"{receiver.url}/hook"), resolved, allow_private=LOCAL).ok
    assert orjson.loads(receiver.last().body)["type"] == "alert.resolved"


def test_slack_body_shape(receiver: Receiver) -> None:
    assert send(Recipient("slack", f"{receiver.url}/services/T0/B0/x"), allow_private=LOCAL).ok
    got = receiver.last()
    assert got.path == "/services/T0/B0/x"
    assert "x-signwatch-signature" not in got.headers
    payload = orjson.loads(got.body)
    assert payload["text"] == "[signwatch] HIGH Void-rate spike — acme (fired)"
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "context"]
    assert payload["blocks"][0]["text"]["text"] == "HIGH · Void-rate spike"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=204", Outcome(True, False, "HTTP 204")),
        ("status=500", Outcome(False, True, "HTTP 500")),
        ("status=503&retry_after=120", Outcome(False, True, "HTTP 503", timedelta(seconds=120))),
        ("status=429&retry_after=7", Outcome(False, True, "HTTP 429", timedelta(seconds=7))),
        ("status=408", Outcome(False, True, "HTTP 408")),
        ("status=404", Outcome(False, False, "HTTP 404")),
        ("status=400", Outcome(False, False, "HTTP 400")),
        ("status=410", Outcome(False, False, "HTTP 410")),
    ],
)
def test_status_policy(receiver: Receiver, query: str, expected: Outcome) -> None:
    for kind in ("webhook", "slack"):
        assert send(Recipient(kind, f"{receiver.url}/s?{query}"), allow_private=LOCAL) == expected


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    before = len(receiver.requests)
    outcome = send(Recipient("webhook", f"{receiver.url}/moved?status=302"), allow_private=LOCAL)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert outcome.detail.startswith("HTTP 302")
    assert len(receiver.requests) == before + 1  # the Location (a metadata address) was not requested


def test_refused_before_any_request(receiver: Receiver) -> None:
    before = len(receiver.requests)
    outcome = send(Recipient("webhook", f"{receiver.url}/hook"))
    assert outcome == Outcome(False, False, "refused: 127.0.0.1 is a loopback address")
    assert send(Recipient("webhook", "ftp://127.0.0.1/x")).detail == "refused: scheme 'ftp' is not http or https"
    assert send(Recipient("slack", "http://10.0.0.7/services/x")).detail == "refused: 10.0.0.7 is a private address"
    assert len(receiver.requests) == before


def test_allowed_by_hostname(receiver: Receiver) -> None:
    """Where `localhost` resolves to ::1 first, the refused ::1 connection falls through to 127.0.0.1."""
    url = receiver.url.replace("127.0.0.1", "localhost")
    assert send(Recipient("webhook", f"{url}/by-name"), allow_private=("localhost",)).ok
    assert receiver.last().headers["host"] == url.removeprefix("http://")


def test_connection_refused_is_retryable() -> None:
    outcome = send(Recipient("webhook", f"http://127.0.0.1:{free_port()}/hook"), allow_private=LOCAL)
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.detail.startswith("connection to 127.0.0.1 failed")
    assert "\n" not in outcome.detail


def test_timeout_is_retryable(receiver: Receiver) -> None:
    outcome = send(Recipient("webhook", f"{receiver.url}/slow?sleep=1"), allow_private=LOCAL, timeout_seconds=0.2)
    assert outcome == Outcome(False, True, "timeout after 0.2s")


def test_https_keeps_the_host_name_for_tls(localhost_cert: Cert) -> None:
    """The connection goes to the vetted IP, yet the certificate is checked against the URL's host name
    (SNI + Host): the test certificate names `localhost` only, so checking it against the IP would fail."""
    box = Receiver(url="")
    cert, key = str(localhost_cert.certfile), str(localhost_cert.keyfile)
    with Serving(receiver_app(box), ssl_certfile=cert, ssl_keyfile=key) as serving:
        trust = ssl.create_default_context(cafile=str(localhost_cert.certfile))
        url = f"https://localhost:{serving.port}/tls"
        assert send(Recipient("webhook", url), verify=trust, allow_private=("localhost",)).ok
        assert box.last().headers["host"] == f"localhost:{serving.port}"
        untrusted = send(Recipient("webhook", url), allow_private=("localhost",))
        assert (untrusted.ok, untrusted.retryable) == (False, True)
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.detail
        by_ip = send(Recipient("webhook", f"https://127.0.0.1:{serving.port}/tls"), verify=trust, allow_private=LOCAL)
        assert not by_ip.ok  # the certificate does not name the IP
    assert len(box.requests) == 1


def test_retry_after_forms() -> None:
    assert retry_after(None, NOW) is None
    assert retry_after("30", NOW) == timedelta(seconds=30)
    assert retry_after("Fri, 20 Nov 2026 12:01:00 GMT", NOW) == timedelta(minutes=1)
    assert retry_after("Fri, 20 Nov 2026 11:00:00 GMT", NOW) == timedelta(0)
    assert retry_after("99999999", NOW) == timedelta(hours=6)
    assert retry_after("soon", NOW) is None


def test_settings_do_not_print_secrets() -> None:
    text = repr(NotifySettings(signing_key="s3cret-key", smtp_password="hunter2"))
    assert "s3cret-key" not in text and "hunter2" not in text
    with pytest.raises(ValueError, match="allow_private"):
        NotifySettings(signing_key="k", allow_private=("10.0.0.0/33",))
