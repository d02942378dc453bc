"""Rules (design §7): dense per-minute series and sliding sums, shared by the counting kinds."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import accumulate


def dense(counts: Mapping[int, int], first: int, last: int, mask: list[bool] | None = None) -> list[int]:
    """Counts for each minute in [first, last), zero where absent or outside `mask` (aligned with first)."""
    out = [0] * (last - first)
    for minute, n in counts.items():
        i = minute - first
        if 0 <= i < len(out) and (mask is None or mask[i]):
            out[i] = n
    return out


def prefix(values: list[int]) -> list[int]:
    """prefix[i] = sum(values[:i])."""
    return [0, *accumulate(values)]


def window_sum(pre: list[int], i: int, width: int) -> int:
    """Sum of the `width` values ending at index i (inclusive), clipped at the series start."""
    return pre[i + 1] - pre[max(i + 1 - width, 0)]
