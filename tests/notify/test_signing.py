"""Webhook signatures: sign → verify round-trips; stale, tampered, foreign and malformed ones are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signwatch.notify import verify_signature
from signwatch.notify.signing import sign, timestamp

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@given(body=st.binary(max_size=2048), key=st.text(min_size=1, max_size=64), skew=st.integers(-300, 300))
def test_round_trip_within_tolerance(body: bytes, key: str, skew: int) -> None:
    stamp = timestamp(NOW)
    assert verify_signature(body, stamp, sign(body, stamp, key), key, now=NOW + timedelta(seconds=skew))


@given(body=st.binary(max_size=256), flip=st.integers(0, 255))
def test_any_change_to_the_body_is_refused(body: bytes, flip: int) -> None:
    stamp = timestamp(NOW)
    signature = sign(body, stamp, "k")
    tampered = body + bytes([flip]) if not body else bytes([body[0] ^ (flip or 1)]) + body[1:]
    assert not verify_signature(tampered, stamp, signature, "k", now=NOW)


def test_stale_and_future_timestamps_are_refused() -> None:
    stamp = timestamp(NOW)
    signature = sign(b"{}", stamp, "k")
    assert not verify_signature(b"{}", stamp, signature, "k", now=NOW + timedelta(seconds=301))
    assert not verify_signature(b"{}", stamp, signature, "k", now=NOW - timedelta(seconds=301))
    assert verify_signature(b"{}", stamp, signature, "k", now=NOW + timedelta(hours=1), tolerance_seconds=3600)


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    stamp = timestamp(NOW)
    signature = sign(b"{}", stamp, "k")
    assert not verify_signature(b"{}", str(int(stamp) + 1), signature, "k", now=NOW)


@pytest.mark.parametrize(
    ("stamp", "signature"),
    [
        ("not-a-number", None),
        (None, ""),
        (None, "sha1=abcd"),
        (None, "sha256=zz"),
        (None, "sha256="),
    ],
)
def test_malformed_values_are_refused(stamp: str | None, signature: str | None) -> None:
    good_stamp = timestamp(NOW)
    assert not verify_signature(
        b"{}",
        stamp if stamp is not None else good_stamp,
        signature if signature is not None else sign(b"{}", good_stamp, "k"),
        "k",
        now=NOW,
    )


def test_wrong_key_is_refused() -> None:
    stamp = timestamp(NOW)
    assert not verify_signature(b"{}", stamp, sign(b"{}", stamp, "k1"), "k2", now=NOW)


def test_signature_format_and_naive_clock() -> None:
    stamp = timestamp(NOW)
    assert stamp == str(int(NOW.timestamp()))
    assert sign(b"{}", stamp, "k").startswith("sha256=") and len(sign(b"{}", stamp, "k")) == 7 + 64
    with pytest.raises(ValueError, match="timezone-aware"):
        timestamp(datetime(2026, 11, 20, 12))  # a naive clock is the point of the test
