"""Simulator (design §2 simulate/): deterministic random streams and identifiers derived from the run seed.

Every random choice the simulator makes comes from a stream named by the run seed plus a path of labels
(tenant, hour slot, envelope id...). A stream never depends on how many numbers another stream consumed,
so the back-dated history and later live chunks agree on every envelope, whatever the chunk boundaries.
"""

from __future__ import annotations

import hashlib
import math
import random


def _digest(parts: tuple[object, ...]) -> bytes:
    text = "\x1f".join(map(str, parts))
    return hashlib.sha256(text.encode("utf-8")).digest()


def stream(*parts: object) -> random.Random:
    """A random generator seeded from the given labels (include the run seed first)."""
    return random.Random(int.from_bytes(_digest(parts)[:16], "big"))


def derive_id(prefix: str, *parts: object, length: int = 20) -> str:
    """A stable identifier such as ``env_3fa9...``: ``prefix`` + ``_`` + hex digest of the labels."""
    return f"{prefix}_{_digest(parts).hex()[:length]}"


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count (Knuth for small means, a rounded normal for large ones)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
