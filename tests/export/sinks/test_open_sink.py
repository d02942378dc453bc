"""`open_sink`: each scheme builds its sink, names hide secrets, bad URLs fail early, private receivers refusable."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signwatch.export.sinks import MODULES, Facts, Sink, facts, open_sink
from tests.export.sinks.conftest import fails, records

URLS = {
    "file": "file:///var/log/signwatch/events.ndjson?max_bytes=1048576&keep=3",
    "splunk+https": "splunk+https://splunk.example:8088?token=SECRET&index=main&sourcetype=sw",
    "splunk+http": "splunk+http://splunk.example?token=SECRET",
    "syslog+tcp": "syslog+tcp://siem.example:514?facility=local3",
    "syslog+tls": "syslog+tls://siem.example?severity=notice",
    "https": "https://user:SECRET@receiver.example/in?token=SECRET",
    "http": "http://receiver.example/in",
    "nats": "nats://user:SECRET@nats.example:4222/signwatch.events?stream=SW",
    "redis": "redis://:SECRET@redis.example:6379/0?stream=signwatch:events&maxlen=10",
    "amqp": "amqp://guest:SECRET@rabbit.example:5672/%2F?exchange=signwatch&routing_key=events",
    "amqps": "amqps://guest:SECRET@rabbit.example/%2F",
}


def build(url: str, **kwargs: object) -> Sink:
    return open_sink(url, signing_key="k", **kwargs)  # type: ignore[arg-type]


def test_every_scheme_has_an_example() -> None:
    assert set(URLS) == set(MODULES)


@pytest.mark.parametrize("scheme", sorted(URLS))
def test_name_never_shows_a_secret(scheme: str) -> None:
    sink = build(URLS[scheme])
    assert "SECRET" not in sink.name and "SECRET" not in repr(sink)
    assert sink.name.startswith(f"{scheme}://")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example/x", "unknown sink scheme"),
        ("redis://redis.example/0?strem=x", "unknown option 'strem'"),
        ("redis://redis.example/0?stream=a&stream=b", "given twice"),
        ("redis://redis.example/zero", "database number"),
        ("file:///var/log/x?keep=-1", "below 0"),
        ("file://remote.example/var/log/x", "remote host"),
        ("splunk+https://splunk.example:8088", "token"),
        ("splunk+https://splunk.example:8088?token=t&ack=maybe", "boolean"),
        ("syslog+tcp://siem.example?facility=local9", "unknown facility"),
        ("syslog+tcp://siem.example?ca=/x.pem", "needs syslog"),
        ("syslog+tls://siem.example?ca=/no/such/ca.pem", "cannot load CA file"),
        ("nats://nats.example", "subject"),
        ("nats://nats.example/a.b?stream=a.b", "stream name"),
        ("amqp://rabbit.example/%2F?exchange=", "exchange"),
        ("redis://redis.example:99999/0", "invalid port"),
        ("https://receiver.example/in?timeout=0", "positive"),
    ],
)
def test_bad_urls_fail_when_built(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(url)


NETWORK = {
    "splunk+http": "splunk+http://127.0.0.1:1?token=t",
    "syslog+tcp": "syslog+tcp://127.0.0.1:1",
    "https": "https://127.0.0.1:1/in",
    "nats": "nats://127.0.0.1:1/a.b",
    "redis": "redis://127.0.0.1:1/0",
    "amqp": "amqp://127.0.0.1:1/%2F",
}


@pytest.mark.parametrize("scheme", sorted(NETWORK))
def test_private_receivers_are_refused_when_not_allowed(scheme: str) -> None:
    error = fails(build(NETWORK[scheme], allow_private=False), records(1), retryable=False)
    assert "127.0.0.1, a loopback address" in str(error)


def test_facts_of_json_and_cef_lines() -> None:
    seen = facts(b'{"type":"envelope.sent","occurredAt":"2026-11-20T10:00:00Z"}')
    assert (seen.type, seen.occurred_at) == ("envelope.sent", datetime(2026, 11, 20, 10, tzinfo=UTC))
    assert facts(b'{"occurredAt":"2026-11-20T10:00:00"}').occurred_at is None  # no zone: not trusted
    cef = facts(rb"CEF:0|V|P|1|auth.login\|x|Login|3|rt=1795183391120 msg=a\=b rt\=1")
    assert (cef.type, cef.occurred_at) == ("auth.login|x", datetime(2026, 11, 20, 14, 3, 11, 120_000, tzinfo=UTC))
    assert facts(b"CEF:0|V|P") == facts(b"1,ev_1,acme") == Facts()
    ocsf = facts(b'{"time": 1795183391120, "metadata": {"event_code": "envelope.signed"}}')
    assert (ocsf.type, ocsf.occurred_at) == ("envelope.signed", datetime(2026, 11, 20, 14, 3, 11, 120_000, tzinfo=UTC))
    ecs = facts(b'{"@timestamp": "2026-11-20T14:03:11.12Z", "event": {"action": "envelope.signed"}}')
    assert (ecs.type, ecs.occurred_at) == ("envelope.signed", datetime(2026, 11, 20, 14, 3, 11, 120_000, tzinfo=UTC))
    assert facts(b"plain text") == facts(b"null")
    assert facts(b"[1, 2]").json == [1, 2]
