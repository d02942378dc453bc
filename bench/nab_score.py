"""Bench: a NAB (Numenta Anomaly Benchmark v1.1) scorer, a pure-Python reimplementation of numenta/NAB's scoring.

It follows NAB's `nab/sweeper.py`, `nab/optimizer.py`, `nab/scorer.py` and `Runner.normalize` rule for rule:

* each series' first ``min(floor(0.15 * n), 0.15 * 5000)`` rows are probationary and not scored;
* a row inside a labelled window (``labels/combined_windows.json``) weighs ``S(pos) * tpWeight / S(-1)`` with
  ``S(x) = 2 * sigmoid(-5x) - 1`` the scaled sigmoid and ``pos = -(right - i + 1) / width``; only the best (the
  first) detection in a window counts, and a window without one costs ``fnWeight``;
* a row outside every window weighs ``S(distance past the preceding window / (its width - 1)) * fpWeight``, or
  ``-fpWeight`` before the first window;
* one threshold for the whole corpus per profile (``config/profiles.json``), the one that maximises the corpus
  score over every distinct anomaly score (ties: the highest threshold);
* normalised: ``100 * (raw - null) / (perfect - null)``, the null detector scoring ``-fnWeight * windows`` (its
  best threshold detects nothing) and a perfect one ``tpWeight * windows``.

Checked against NAB's published windowedGaussian results: the corpus scores and every per-series row of its
score tables (tests/bench/test_nab_score.py).

Usage: ``python bench/nab_score.py --data ../shared/nab RESULTS_DIR`` scores one detector's results directory.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PROBATION_PERCENT = 0.15
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")


def scaled_sigmoid(position: float) -> float:
    """NAB's scaled sigmoid: 0.987 at the left edge of a window (-1), 0 at its right edge, -1 well past it."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


def probation_length(rows: int, percent: float = PROBATION_PERCENT) -> float:
    return min(math.floor(percent * rows), percent * 5000)


@dataclass(frozen=True, slots=True)
class Row:
    """One scorable (post-probation) row: its anomaly score, window id (-1 = outside) and unweighted S(t)."""

    score: float
    window: int
    weight: float


@dataclass(frozen=True, slots=True)
class ProfileResult:
    profile: str
    threshold: float
    raw: float
    normalized: float
    tp: int
    fp: int
    fn: int
    tn: int


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.strip())


def load_windows(nab_dir: Path) -> dict[str, list[tuple[datetime, datetime]]]:
    raw = json.loads((nab_dir / "labels" / "combined_windows.json").read_text())
    return {path: [(_ts(a), _ts(b)) for a, b in limits] for path, limits in raw.items()}


def load_profiles(nab_dir: Path) -> dict[str, dict[str, float]]:
    raw = json.loads((nab_dir / "config" / "profiles.json").read_text())
    return {name: dict(spec["CostMatrix"]) for name, spec in raw.items()}


def data_files(nab_dir: Path) -> list[str]:
    """The corpus' series as paths relative to data/, e.g. 'realTweets/Twitter_volume_FB.csv'."""
    root = nab_dir / "data"
    return sorted(p.relative_to(root).as_posix() for p in root.glob("*/*.csv"))


def read_series(path: Path) -> tuple[list[str], list[float]]:
    """Timestamps and values of a NAB data file."""
    stamps: list[str] = []
    values: list[float] = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            stamps.append(row[0])
            values.append(float(row[1]))
    return stamps, values


def read_scores(path: Path) -> list[float]:
    """The anomaly_score column of a results file."""
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        return [float(row["anomaly_score"]) for row in reader]


def results_file(results_dir: Path, relpath: str) -> Path:
    """A series' results file: DIR/<category>/<name>.csv, or NAB's DIR/<category>/<detector>_<name>.csv."""
    category, name = relpath.split("/")
    plain = results_dir / category / name
    if plain.is_file():
        return plain
    matches = sorted((results_dir / category).glob(f"*_{name}"))
    if len(matches) != 1:
        raise FileNotFoundError(f"no single results file for {relpath} under {results_dir}")
    return matches[0]


def sweep_rows(
    stamps: Sequence[datetime], scores: Sequence[float], windows: Iterable[tuple[datetime, datetime]], first_id: int
) -> list[Row]:
    """NAB's Sweeper.calcSweepScore for one series (probationary rows dropped, weights not yet applied)."""
    if len(stamps) != len(scores):
        raise ValueError("timestamps and anomaly scores differ in length")
    index = {t: i for i, t in enumerate(stamps)}
    spans = [(index[a], index[b]) for a, b in windows]
    probation = probation_length(len(stamps))
    rows: list[Row] = []
    span_no = 0
    current: tuple[int, int] | None = None
    prev_right: int | None = None
    prev_width = 0.0
    for i, score in enumerate(scores):
        if current is None and span_no < len(spans) and i == spans[span_no][0]:
            current = spans[span_no]
            span_no += 1
        if current is not None:
            width = float(current[1] - current[0] + 1)
            weight = scaled_sigmoid(-(current[1] - i + 1) / width) / MAX_TP
            window = first_id + span_no - 1
        else:
            weight = -1.0 if prev_right is None else scaled_sigmoid(abs(prev_right - i) / (prev_width - 1))
            window = -1
        if i >= probation:
            rows.append(Row(score, window, weight))
        elif window != -1:
            raise ValueError("an anomaly window overlaps the probationary period")
        if current is not None and i == current[1]:
            prev_right, prev_width = i, float(current[1] - current[0] + 1)
            current = None
    return rows


def threshold_scores(
    rows: Sequence[Row], n_windows: int, cost: Mapping[str, float]
) -> list[tuple[float, float, int, int]]:
    """NAB's Sweeper.calcScoreByThreshold: (threshold, score, tp, fp) per distinct anomaly score, highest first.

    `rows` must be sorted by score, highest first (a stable sort, as NAB's). A threshold t detects rows >= t.
    """
    tp_w, fp_w, fn_w = cost["tpWeight"], cost["fpWeight"], cost["fnWeight"]
    best = [-fn_w] * n_windows
    total = -fn_w * n_windows
    tp = fp = 0
    threshold = 1.1
    out: list[tuple[float, float, int, int]] = []
    for row in rows:
        if row.score != threshold:
            out.append((threshold, total, tp, fp))
            threshold = row.score
        if row.window < 0:
            fp += 1
            total += row.weight * fp_w
        else:
            tp += 1
            value = row.weight * tp_w
            if value > best[row.window]:
                total += value - best[row.window]
                best[row.window] = value
    out.append((threshold, total, tp, fp))
    return out


class Corpus:
    """The NAB corpus: data timestamps, windows and profiles, loaded once and reused for many detectors."""

    def __init__(self, nab_dir: Path) -> None:
        self.nab_dir = nab_dir
        self.profiles = load_profiles(nab_dir)
        windows = load_windows(nab_dir)
        self.files = data_files(nab_dir)
        if sorted(windows) != self.files:
            raise ValueError("labels/combined_windows.json and data/ name different series")
        self.windows = {f: windows[f] for f in self.files}
        self.n_windows = sum(len(w) for w in self.windows.values())
        self.stamps: dict[str, list[datetime]] = {}
        self.values: dict[str, list[float]] = {}
        for f in self.files:
            stamps, values = read_series(nab_dir / "data" / f)
            self.stamps[f] = [_ts(s) for s in stamps]
            self.values[f] = values

    def score(self, scores: Mapping[str, Sequence[float]]) -> dict[str, ProfileResult]:
        """Optimise one corpus-wide threshold per profile and return the raw and normalised NAB scores."""
        rows: list[Row] = []
        first_id = 0
        for f in self.files:
            rows.extend(sweep_rows(self.stamps[f], scores[f], self.windows[f], first_id))
            first_id += len(self.windows[f])
        rows.sort(key=lambda r: r.score, reverse=True)
        n_in = sum(1 for r in rows if r.window >= 0)
        n_out = len(rows) - n_in
        results = {}
        for name, cost in self.profiles.items():
            table = threshold_scores(rows, self.n_windows, cost)
            threshold, raw, tp, fp = max(table, key=lambda t: t[1])  # first maximum = highest threshold
            null = -cost["fnWeight"] * self.n_windows
            perfect = cost["tpWeight"] * self.n_windows
            normalized = 100.0 * (raw - null) / (perfect - null)
            results[name] = ProfileResult(name, threshold, raw, normalized, tp, fp, n_in - tp, n_out - fp)
        return results

    def file_scores(self, scores: Mapping[str, Sequence[float]], profile: str, threshold: float) -> dict[str, float]:
        """Each series' raw score at a given threshold (the rows of NAB's per-profile `*_scores.csv`)."""
        cost = self.profiles[profile]
        out = {}
        for f in self.files:
            rows = sweep_rows(self.stamps[f], scores[f], self.windows[f], 0)
            rows.sort(key=lambda r: r.score, reverse=True)
            table = threshold_scores(rows, len(self.windows[f]), cost)
            out[f] = min((t for t in table if t[0] >= threshold), key=lambda t: t[0])[1]
        return out

    def score_dir(self, results_dir: Path) -> dict[str, ProfileResult]:
        return self.score({f: read_scores(results_file(results_dir, f)) for f in self.files})


def format_results(results: Mapping[str, ProfileResult]) -> str:
    lines = [f"{'profile':<20} {'score':>7} {'threshold':>10} {'raw':>9}"]
    for name in PROFILES:
        r = results[name]
        lines.append(f"{name:<20} {r.normalized:7.2f} {r.threshold:10.6f} {r.raw:9.3f}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "nab")
    parser.add_argument("results", type=Path, help="a detector's results directory (NAB's results format)")
    args = parser.parse_args(argv)
    print(format_results(Corpus(args.data).score_dir(args.results)))


if __name__ == "__main__":
    main()
