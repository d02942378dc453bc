"""Bench: the anomaly kind's detector on NAB (Numenta Anomaly Benchmark v1.1), scored as NAB scores.

Runs `signwatch.rules.detector.Detector` — the code the `anomaly` rule kind uses — causally over NAB's 58
series, writes its scores in NAB's results format (``DIR/<category>/<series>.csv`` with the columns
``timestamp,value,anomaly_score,label``), scores that directory with `bench/nab_score.py` and prints the
three profiles' normalised scores (standard, reward_low_FP_rate, reward_low_FN_rate).

    python bench/nab.py --data ../shared/nab --out /tmp/nab-signwatch
    python bench/nab.py --data ../shared/nab --score-only ../shared/nab/results/windowedGaussian
    python bench/nab.py --data ../shared/nab --out /tmp/nab-168 --seasons 168   # hour-of-week slots

One parameter set for every series (the detector's defaults unless ``--param name=value``); with
``--seasons 168`` (or 24) each value's slot is its timestamp's hour of week (of day).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nab_score  # bench/ is not a package: found via the path above

from signwatch.rules.detector import Detector

DETECTOR = "signwatch"
REFERENCE = ("numenta", "relativeEntropy", "randomCutForest", "twitterADVec", "windowedGaussian")


def slot(stamp: datetime, seasons: int) -> int | None:
    """A timestamp's season slot: hour of week for 168, hour of day for 24, none for 0."""
    if seasons == 168:
        return stamp.weekday() * 24 + stamp.hour
    if seasons == 24:
        return stamp.hour
    if seasons == 0:
        return None
    raise ValueError("--seasons must be 0, 24 or 168")


def detect(args: tuple[list[float], list[datetime], int, dict[str, float]]) -> list[float]:
    """One series' causal anomaly scores: each from that row and the rows before it only."""
    values, stamps, seasons, params = args
    detector = Detector(seasons=seasons, **params)  # type: ignore[arg-type]
    return [detector.update(v, slot(t, seasons)).score for v, t in zip(values, stamps, strict=True)]


def labels(stamps: Sequence[datetime], windows: Sequence[tuple[datetime, datetime]]) -> list[int]:
    return [int(any(a <= t <= b for a, b in windows)) for t in stamps]


def write_results(corpus: nab_score.Corpus, scores: dict[str, list[float]], out: Path) -> None:
    for f in corpus.files:
        path = out / f
        path.parent.mkdir(parents=True, exist_ok=True)
        stamps, values = corpus.stamps[f], corpus.values[f]
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["timestamp", "value", "anomaly_score", "label"])
            for t, v, s, lab in zip(stamps, values, scores[f], labels(stamps, corpus.windows[f]), strict=True):
                writer.writerow([t.strftime("%Y-%m-%d %H:%M:%S"), repr(v), repr(s), lab])


def parse_params(items: Sequence[str]) -> dict[str, float]:
    params: dict[str, float] = {}
    for item in items:
        name, _, raw = item.partition("=")
        number = float(raw)
        params[name] = int(number) if number.is_integer() and "." not in raw else number
    return params


def report(results: dict[str, nab_score.ProfileResult], published: Path) -> str:
    lines = [nab_score.format_results(results)]
    if published.is_file():
        board = json.loads(published.read_text())
        lines.append("published (standard / low FP / low FN):")
        for name in REFERENCE:
            if name in board:
                s = board[name]
                lines.append(
                    f"  {name:<18} {s['standard']:6.2f} {s['reward_low_FP_rate']:6.2f} {s['reward_low_FN_rate']:6.2f}"
                )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "nab", help="the NAB checkout"
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", type=Path, help="run the detector and write its results here")
    mode.add_argument("--score-only", type=Path, metavar="DIR", help="score an existing results directory")
    parser.add_argument("--seasons", type=int, default=0, choices=(0, 24, 168), help="0, hour of day, hour of week")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="detector parameter")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes (one series each)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    corpus = nab_score.Corpus(args.data)
    if args.score_only is not None:
        results = corpus.score_dir(args.score_only)
        print(f"{args.score_only}: {len(corpus.files)} series, {corpus.n_windows} windows")
        print(report(results, args.data / "results" / "final_results.json"))
        return
    params = parse_params(args.param)
    Detector(seasons=args.seasons, **params)  # type: ignore[arg-type]  # fail fast on a bad parameter
    work = [(corpus.values[f], corpus.stamps[f], args.seasons, params) for f in corpus.files]
    with ProcessPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        scores = dict(zip(corpus.files, pool.map(detect, work), strict=True))
    detected = time.perf_counter()
    write_results(corpus, scores, args.out)
    results = corpus.score_dir(args.out)
    elapsed = time.perf_counter() - started
    summary = {
        "detector": "signwatch.rules.detector.Detector",
        "seasons": args.seasons,
        "params": params,
        "scores": {name: round(r.normalized, 2) for name, r in results.items()},
        "thresholds": {name: r.threshold for name, r in results.items()},
        "seconds": round(elapsed, 1),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    rows = sum(len(v) for v in corpus.values.values())
    setup = f"seasons={args.seasons}, params={params or 'defaults'}"
    print(f"{DETECTOR} ({setup}) on {len(corpus.files)} series, {rows} rows")
    print(report(results, args.data / "results" / "final_results.json"))
    print(f"load + detection {detected - started:.1f} s, total {elapsed:.1f} s; results in {args.out}")


if __name__ == "__main__":
    main()
