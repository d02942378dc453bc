"""Rules (design §7): the rule kinds, one module each, all pure: (rule, context, input) → condition minutes."""

from __future__ import annotations

from signwatch.rules.engine import KindFn
from signwatch.rules.kinds import anomaly, flatline, new_network, ratio, stuck, threshold

KINDS: dict[str, KindFn] = {
    "threshold": threshold.evaluate,
    "ratio": ratio.evaluate,
    "stuck": stuck.evaluate,
    "new_network": new_network.evaluate,
    "anomaly": anomaly.evaluate,
    "flatline": flatline.evaluate,
}
