"""Redis Streams sink against the machine's Redis: entries read back with XRANGE, trimming, refusals."""

from __future__ import annotations

import secrets

import pytest
import redis.asyncio as aioredis

from signwatch.export.sinks import open_sink
from tests.export.sinks.conftest import REDIS_URL, closed_port, fails, records, require_server, run, send_all, unique


@pytest.fixture(scope="module")
def server() -> str:
    return require_server(REDIS_URL, "Redis")


async def entries(key: str) -> list[dict[bytes, bytes]]:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        return [fields for _, fields in await client.xrange(key) or []]  # type: ignore[misc]
    finally:
        await client.aclose()


async def delete(key: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.delete(key)
    finally:
        await client.aclose()


def test_batch_is_added_in_order_with_its_fields(server: str) -> None:
    key = unique("signwatch:test:")
    batch = records(25)
    try:
        run(send_all(open_sink(f"{server}?stream={key}"), batch[:20], batch[20:]))
        got = run(entries(key))
    finally:
        run(delete(key))
    assert [e[b"id"].decode() for e in got] == [r.id for r in batch]
    assert [e[b"record"] for e in got] == [r.line for r in batch]
    assert got[0][b"seq"] == b"1" and got[0][b"tenant"] == b"acme"


def test_maxlen_trims_approximately(server: str) -> None:
    key = unique("signwatch:test:")
    batch = records(1000)
    try:
        batches = [batch[n : n + 100] for n in range(0, 1000, 100)]
        run(send_all(open_sink(f"{server}?stream={key}&maxlen=100"), *batches))
        got = run(entries(key))
    finally:
        run(delete(key))
    assert 100 <= len(got) < 1000  # `MAXLEN ~` trims whole nodes: at least maxlen stay
    assert got[-1][b"id"].decode() == batch[-1].id


def test_a_large_batch_goes_in_one_script_call_in_order_without_trimming(server: str) -> None:
    key = unique("signwatch:test:")
    batch = records(5000)
    try:
        run(send_all(open_sink(f"{server}?stream={key}&maxlen=0"), batch))
        got = run(entries(key))
    finally:
        run(delete(key))
    assert [e[b"seq"] for e in got] == [str(r.seq).encode() for r in batch]
    assert got[-1][b"record"] == batch[-1].line


def test_a_user_who_may_not_run_scripts_gets_a_transaction(server: str) -> None:
    """An ACL user allowed XADD on the stream but not EVAL/EVALSHA: the sink falls back to MULTI … EXEC."""
    key = unique("signwatch:test:")
    user, password = unique("signwatch-test-"), secrets.token_hex(8)

    async def acl(*args: str) -> None:
        client = aioredis.Redis.from_url(REDIS_URL)
        try:
            await client.execute_command("ACL", *args)
        finally:
            await client.aclose()

    run(acl("SETUSER", user, "on", f">{password}", f"~{key}", "+@all", "-@scripting"))
    batch = records(30)
    try:
        url = server.replace("redis://", f"redis://{user}:{password}@", 1)
        run(send_all(open_sink(f"{url}?stream={key}"), batch[:10], batch[10:]))
        got = run(entries(key))
    finally:
        run(acl("DELUSER", user))
        run(delete(key))
    assert [e[b"id"].decode() for e in got] == [r.id for r in batch]


def test_a_key_that_is_not_a_stream_is_not_retryable(server: str) -> None:
    key = unique("signwatch:test:")

    async def make_string() -> None:
        client = aioredis.Redis.from_url(REDIS_URL)
        await client.set(key, "not a stream")
        await client.aclose()

    run(make_string())
    try:
        error = fails(open_sink(f"{server}?stream={key}"), records(2), retryable=False)
        assert "WRONGTYPE" in str(error)
    finally:
        run(delete(key))


def test_wrong_port_is_retryable() -> None:
    fails(open_sink(f"redis://127.0.0.1:{closed_port()}/0"), records(1), retryable=True)


def test_the_password_is_masked() -> None:
    sink = open_sink("redis://:hunter2@redis.example:6379/2?stream=s&maxlen=0")
    assert sink.name == "redis://:***@redis.example:6379/2?stream=s&maxlen=0"
    with pytest.raises(ValueError, match="unknown option 'max_len'"):
        open_sink("redis://redis.example/0?max_len=5")
