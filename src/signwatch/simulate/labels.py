"""Simulator (design §2 simulate/): the incident labels file — one JSON object per line (JSON Lines)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def write_labels(path: str | Path, labels: Iterable[Mapping[str, Any]]) -> int:
    """Write ``labels`` to ``path`` as JSON Lines (UTF-8, replacing the file); return how many."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for label in labels:
            out.write(json.dumps(label, ensure_ascii=False, separators=(",", ":")) + "\n")
            count += 1
    return count


def read_labels(path: str | Path) -> list[dict[str, Any]]:
    """The labels in a JSON Lines file written by ``write_labels`` (blank lines skipped)."""
    with Path(path).open(encoding="utf-8") as source:
        return [json.loads(line) for line in source if line.strip()]
