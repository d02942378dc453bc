"""bench/nab_score.py: NAB's scoring rules, checked by hand on a toy series and against NAB's published scores."""

from __future__ import annotations

import csv
import json
import math
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import nab_score
from tests.helpers import shared_dir

NAB = shared_dir() / "nab"
PUBLISHED = NAB / "results" / "windowedGaussian"
STANDARD = {"tpWeight": 1.0, "fnWeight": 1.0, "fpWeight": 0.11, "tnWeight": 1.0}


def test_scaled_sigmoid_and_probation() -> None:
    assert nab_score.scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert nab_score.scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert nab_score.scaled_sigmoid(0.0) == 0.0
    assert nab_score.scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert nab_score.scaled_sigmoid(3.5) == -1.0
    assert nab_score.probation_length(4032) == 604
    assert nab_score.probation_length(22695) == 750


def test_toy_series_by_hand() -> None:
    """100 rows, 15 probationary, one window over rows 50..59."""
    t0 = datetime(2020, 1, 1)
    stamps = [t0 + timedelta(minutes=5 * i) for i in range(100)]
    scores = [0.0] * 100
    scores[10] = 1.0  # probationary: ignored
    scores[20] = 0.9  # before any window: a full false positive
    scores[52] = 0.8  # first detection in the window: counts
    scores[55] = 1.0  # a later detection in the same window: neither credit nor cost
    scores[70] = 0.7  # 11 rows after the window: a false positive weighted by distance
    rows = nab_score.sweep_rows(stamps, scores, [(stamps[50], stamps[59])], first_id=0)
    assert len(rows) == 85
    rows.sort(key=lambda r: r.score, reverse=True)
    table = {t: total for t, total, _tp, _fp in nab_score.threshold_scores(rows, 1, STANDARD)}
    s = nab_score.scaled_sigmoid
    tp_at_52 = s(-(59 - 52 + 1) / 10) / s(-1.0)
    tp_at_55 = s(-(59 - 55 + 1) / 10) / s(-1.0)
    assert table[1.1] == -1.0  # nothing detected: the window is missed
    assert table[1.0] == pytest.approx(tp_at_55)
    assert table[0.9] == pytest.approx(tp_at_55 - 0.11)
    assert table[0.8] == pytest.approx(tp_at_52 - 0.11)  # the earlier detection replaces the later one
    assert table[0.7] == pytest.approx(tp_at_52 - 0.11 + 0.11 * s(11 / 9))
    # Threshold 0 detects every scored row: the window's first row (full credit, 1.0), rows 15..49 cost
    # fpWeight each, rows 60..99 fpWeight weighted by their distance past the window.
    post = sum(s((i - 59) / 9) for i in range(60, 100))
    assert table[0.0] == pytest.approx(1.0 - 0.11 * 35 + 0.11 * post)


@pytest.mark.skipif(not PUBLISHED.is_dir(), reason="shared NAB data (../shared/nab) not present")
def test_reproduces_published_windowed_gaussian() -> None:
    corpus = nab_score.Corpus(NAB)
    assert len(corpus.files) == 58
    assert corpus.n_windows == 116
    scores = {f: nab_score.read_scores(nab_score.results_file(PUBLISHED, f)) for f in corpus.files}
    results = corpus.score(scores)
    board = json.loads((NAB / "results" / "final_results.json").read_text())["windowedGaussian"]
    for profile, expected in (("standard", 39.6), ("reward_low_FP_rate", 20.9), ("reward_low_FN_rate", 47.4)):
        assert results[profile].normalized == pytest.approx(expected, abs=0.1)
        assert results[profile].normalized == pytest.approx(board[profile], abs=1e-6)
        # The per-series rows of NAB's own score table, at the optimised threshold.
        table = PUBLISHED / f"windowedGaussian_{profile}_scores.csv"
        with table.open(newline="") as fh:
            published = {row["File"]: row for row in csv.DictReader(fh) if row["File"]}
        threshold = results[profile].threshold
        assert all(float(row["Threshold"]) == threshold for row in published.values())
        per_file = corpus.file_scores(scores, profile, threshold)
        for f in corpus.files:
            assert math.isclose(per_file[f], float(published[f]["Score"]), abs_tol=1e-9), f
