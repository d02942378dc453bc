"""HMAC signatures: sign → verify round trip; any change of body, key or header fails."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from signwatch.sources.signatures import sign, verify

keys = st.text(min_size=1, max_size=40)


@given(st.binary(max_size=2000), keys)
def test_round_trip(body: bytes, key: str) -> None:
    assert verify(body, sign(body, key), [key])
    assert verify(body, sign(body, key).upper().replace("SHA256=", "sha256="), ["other", key])


@given(st.binary(min_size=1, max_size=500), keys, st.integers(min_value=0, max_value=499))
def test_tampered_body_fails(body: bytes, key: str, pos: int) -> None:
    i = pos % len(body)
    tampered = body[:i] + bytes([body[i] ^ 1]) + body[i + 1 :]
    assert not verify(tampered, sign(body, key), [key])


def test_wrong_key_and_malformed_headers_fail() -> None:
    body = b'{"a":1}'
    assert not verify(body, sign(body, "k1"), ["k2"])
    for header in (None, "", "sha256=", "sha1=" + sign(body, "k1")[7:], "sha256=xyz", sign(body, "k1")[:-2]):
        assert not verify(body, header, ["k1"])
