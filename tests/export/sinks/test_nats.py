"""NATS JetStream sink against the machine's NATS server: stream created, messages read back in order, deduped."""

from __future__ import annotations

import nats
import pytest
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from signwatch.export.sinks import Record, open_sink
from tests.export.sinks.conftest import NATS_URL, closed_port, fails, records, require_server, run, send_all, unique


@pytest.fixture(scope="module")
def server() -> str:
    return require_server(NATS_URL, "NATS (JetStream)")


async def read_stream(stream: str, subject: str, count: int) -> list[Msg]:
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            subject, stream=stream, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, inactive_threshold=30)
        )
        msgs = await sub.fetch(count, timeout=5)
        info = await js.stream_info(stream)
        assert info.state.messages == count
        return msgs
    finally:
        await nc.close()


async def delete_stream(stream: str) -> None:
    nc = await nats.connect(NATS_URL)
    try:
        await nc.jetstream().delete_stream(stream)
    finally:
        await nc.close()


def test_batch_is_published_with_msg_ids_and_read_back_in_order(server: str) -> None:
    stream, subject = unique("SW_TEST_"), unique("signwatch.test.")
    batch = records(50)
    sink = open_sink(f"{server}/{subject}?stream={stream}")
    try:
        run(send_all(sink, batch[:30], batch[30:], batch[10:20]))  # the last batch is a resend: deduped
        msgs = run(read_stream(stream, subject, len(batch)))
    finally:
        run(delete_stream(stream))
    assert [m.data for m in msgs] == [r.line for r in batch]
    assert [m.headers and m.headers["Nats-Msg-Id"] for m in msgs] == [r.id for r in batch]
    assert msgs[0].headers and msgs[0].headers["Signwatch-Tenant"] == "acme"


def test_a_subject_no_stream_takes_fails_retryably(server: str) -> None:
    stream, subject = unique("SW_TEST_"), unique("signwatch.test.")
    run(send_all(open_sink(f"{server}/{subject}?stream={stream}"), records(1)))  # creates the stream
    try:
        other = open_sink(f"{server}/{subject}.elsewhere?stream={stream}")  # the stream exists: not widened
        error = fails(other, records(1), retryable=True)
        assert "no JetStream stream answered" in str(error)
    finally:
        run(delete_stream(stream))


def test_a_record_over_max_payload_is_not_retryable(server: str) -> None:
    stream, subject = unique("SW_TEST_"), unique("signwatch.test.")
    huge = Record(seq=1, id="ev_huge", tenant="acme", line=b"x" * (8 * 1024 * 1024))
    try:
        error = fails(open_sink(f"{server}/{subject}?stream={stream}"), [huge], retryable=False)
        assert "max_payload" in str(error)
    finally:
        run(delete_stream(stream))


def test_wrong_port_is_retryable() -> None:
    fails(open_sink(f"nats://127.0.0.1:{closed_port()}/signwatch.events"), records(1), retryable=True)


def test_a_token_in_the_url_is_masked() -> None:
    assert open_sink("nats://s3cret@nats.example:4222/a.b").name == "nats://***@nats.example:4222/a.b"
    assert open_sink("nats://u:s3cret@nats.example/a.b").name == "nats://u:***@nats.example/a.b"
    with pytest.raises(ValueError, match="subject"):
        open_sink("nats://nats.example/a.*")
