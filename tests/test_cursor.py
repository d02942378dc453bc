"""Cursors: opaque, versioned, round-trip exactly, and refuse anything else."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signwatch.export import cursor


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_round_trip(seq: int) -> None:
    text = cursor.encode(seq)
    assert text.startswith("v1.") and cursor.decode(text) == seq


@given(st.text(max_size=40))
def test_garbage_is_refused_or_decodes_to_a_valid_position(text: str) -> None:
    with contextlib.suppress(cursor.BadCursor):
        assert cursor.decode(text) >= 0


@pytest.mark.parametrize("bad", ["v2.eyJzIjoxfQ", "v1.", "v1.eyJ4IjoxfQ", "v1.eyJzIjoiYSJ9", "v1.bm90IGpzb24"])
def test_refused(bad: str) -> None:
    with pytest.raises(cursor.BadCursor):
        cursor.decode(bad)
