"""The rule kinds as pure functions: (rule, context, input) → condition minutes, and episodes from them."""

from __future__ import annotations

from datetime import UTC, datetime

from signwatch.calendar import BusinessCalendar
from signwatch.rules.engine import Context, episodes, evaluate
from signwatch.rules.kinds import anomaly, flatline, new_network, ratio, stuck, threshold
from signwatch.rules.spec import parse_rule

# 2026-11-23 is a Monday; minute numbers are minutes since the epoch (UTC).
MONDAY = int(datetime(2026, 11, 23, tzinfo=UTC).timestamp()) // 60
BERLIN = BusinessCalendar.of("Europe/Berlin")


def ctx(start: int, end: int, cal: BusinessCalendar = BERLIN) -> Context:
    return Context("acme", cal, start, end)


def test_threshold_holds_while_the_sliding_window_holds_enough() -> None:
    rule = parse_rule({"name": "t", "condition": "envelope_sent", "threshold": 3, "windowMinutes": 10})
    at = MONDAY + 600  # 10:00 UTC
    data = threshold.Input({"acme": {at: 1, at + 2: 1, at + 4: 1}})
    found = evaluate(rule, ctx(at - 30, at + 60), data)
    minutes = [p.minute for p in found["acme"]]
    # the third event lands at +4; the first leaves the 10-minute window after +9
    assert minutes == list(range(at + 4, at + 10))
    assert {p.value for p in found["acme"]} == {3.0}
    [ep] = episodes(found, cooldown=0, end=at + 60)
    assert (ep.start, ep.last, ep.open) == (at + 4, at + 9, False)


def test_threshold_counts_only_off_hours_on_the_tenants_clock() -> None:
    rule = parse_rule({"name": "t", "threshold": 2, "windowMinutes": 60, "schedule": {"offHoursOnly": True}})
    office = MONDAY + 9 * 60  # 10:00 in Berlin (UTC+1 in November)
    night = MONDAY + 2 * 60  # 03:00 in Berlin
    data = threshold.Input({"acme": {office: 5, night: 5}})
    found = evaluate(rule, ctx(MONDAY, MONDAY + 24 * 60), data)
    assert found["acme"][0].minute == night
    assert all(p.minute < office for p in found["acme"])


def test_ratio_needs_min_count_and_a_baseline() -> None:
    rule = parse_rule(
        {"name": "v", "kind": "ratio", "condition": "envelope.voided", "denominator": "envelope.sent",
         "windowMinutes": 60, "factor": 3, "baselineDays": 1, "minCount": 5}
    )  # fmt: skip
    at = MONDAY + 12 * 60
    sent = {at - 1440 + k * 10: 2 for k in range(144)}  # a day of steady sending: 288 sends
    voided = {at - 1440 + k * 60: 1 for k in range(24)}  # 24 voids: baseline ratio 25/289
    sent.update({at + k: 1 for k in range(20)})
    spike = {**voided, **{at + k: 1 for k in range(8)}}
    found = evaluate(rule, ctx(at, at + 60), ratio.Input({"acme": spike}, {"acme": sent}))
    first = found["acme"][0]
    assert first.minute == at + 4  # the fifth void in the window
    # the baseline is the smoothed voided/sent of the day before the window: about 1 in 12
    assert first.expected is not None and 0.07 < first.expected < 0.1
    assert first.threshold == round(3 * first.expected, 6)
    assert first.value > first.threshold > 0  # type: ignore[operator]
    # four voids are never enough, whatever the ratio
    few = {**voided, **{at + k: 1 for k in range(4)}}
    assert evaluate(rule, ctx(at, at + 60), ratio.Input({"acme": few}, {"acme": sent})) == {}
    # no baseline (nothing sent before the window): no alert
    assert evaluate(rule, ctx(at, at + 60), ratio.Input({"acme": spike}, {"acme": {at: 20}})) == {}


def test_stuck_counts_overdue_envelopes_sent_together_and_clears_as_they_finish() -> None:
    rule = parse_rule(
        {"name": "s", "kind": "stuck", "slaMinutes": 60, "threshold": 3, "windowMinutes": 30, "groupBy": "actor"}
    )
    t = MONDAY + 600
    spans = [stuck.Span(f"e{i}", t + i, None) for i in range(3)] + [stuck.Span("late", t + 300, None)]
    spans[0] = stuck.Span("e0", t, t + 100)  # finishes 100 minutes after sending
    found = evaluate(rule, ctx(t, t + 400), stuck.Input({"ann": spans}))
    minutes = [p.minute for p in found["ann"]]
    assert minutes[0] == t + 62 and minutes[-1] == t + 99  # all three overdue from +62 until e0 finishes
    assert stuck.densest(stuck.overdue(spans, 60, t + 70), 30) == spans[:3]


def test_new_network_needs_history_and_ignores_networks_used_lately() -> None:
    rule = parse_rule({"name": "n", "kind": "new_network", "lookbackDays": 30, "minHistoryDays": 2})
    day_us, minute_us = 86_400_000_000, 60_000_000
    t0 = MONDAY * minute_us
    office = [new_network.Seen("p:81.2.69.0/24", 0, t0 - d * day_us, "81.2.69.1", "GB") for d in range(1, 6)]
    fresh = new_network.Seen("p:95.24.10.0/24", 0, t0 + 3 * 3600 * 1_000_000, "95.24.10.7", "RU")
    newcomer = [new_network.Seen("p:1.2.3.0/24", 0, t0 + 60 * minute_us, None, None)]
    data = new_network.Input({"ann": [*office, fresh], "bob": newcomer}, [])
    found = evaluate(rule, ctx(MONDAY, MONDAY + 1440), data)
    assert set(found) == {"ann"}  # bob has no history: a newcomer, not a new network
    assert found["ann"][0].minute == MONDAY + 180 and "95.24.10.0/24 (RU) from 95.24.10.7" in str(found["ann"][0].note)
    assert len(found["ann"]) == 60  # open for windowMinutes
    # the same network used within the lookback is not new
    again = new_network.Seen("p:81.2.69.0/24", 0, t0 + 3600 * 1_000_000, "81.2.69.9", "GB")
    assert evaluate(rule, ctx(MONDAY, MONDAY + 1440), new_network.Input({"ann": [*office, again]}, [])) == {}


def test_flatline_fires_only_when_silence_breaks_a_busy_hours_habit() -> None:
    rule = parse_rule(
        {"name": "f", "kind": "flatline", "windowMinutes": 60, "minExpected": 10, "baselineDays": 14,
         "minHistoryDays": 7}
    )  # fmt: skip
    utc = BusinessCalendar.of("UTC")
    hour = MONDAY // 60
    busy = {hour + 10 - 168 * k: 60 for k in (1, 2)}  # Mondays 10:00 UTC: 60 events in each of 2 weeks
    busy.update({hour + 3 - 168 * k: 1 for k in (1, 2)})  # Mondays 03:00: one event
    data = flatline.Input(minutes={}, hours={"acme": busy})
    found = evaluate(rule, ctx(MONDAY, MONDAY + 1440, utc), data)
    minutes = [p.minute for p in found["acme"]]
    assert minutes and all(600 <= m - MONDAY < 720 for m in minutes)  # only around the busy hour
    first = found["acme"][0]
    assert first.expected is not None and first.expected >= 10
    # one event in the hour is not silence
    alive = flatline.Input(minutes={"acme": {MONDAY + 630: 1}}, hours={"acme": busy})
    quiet = [p.minute - MONDAY for p in evaluate(rule, ctx(MONDAY, MONDAY + 1440, utc), alive).get("acme", [])]
    assert quiet and not [m for m in quiet if 630 <= m < 690]  # silent until the event, then alive an hour


def test_episodes_merge_runs_closer_than_the_cooldown() -> None:
    rule = parse_rule({"name": "t", "threshold": 1, "windowMinutes": 1})
    data = threshold.Input({"acme": {MONDAY + 10: 1, MONDAY + 20: 1, MONDAY + 200: 1}})
    found = evaluate(rule, ctx(MONDAY, MONDAY + 300), data)
    assert [(e.start - MONDAY, e.last - MONDAY) for e in episodes(found, 30, MONDAY + 300)] == [(10, 20), (200, 200)]
    assert len(episodes(found, 0, MONDAY + 300)) == 3
    [*_, last] = episodes(found, 0, MONDAY + 201)
    assert last.open


def test_anomaly_flags_an_hour_far_above_its_hour_of_week_and_explains_it() -> None:
    rule = parse_rule(
        {"name": "a", "kind": "anomaly", "condition": "envelope.sent", "minHistoryDays": 14, "baselineDays": 28}
    )
    utc = BusinessCalendar.of("UTC")
    first_hour = MONDAY // 60 - 35 * 24
    hours: dict[int, int] = {}
    for h in range(first_hour, MONDAY // 60 + 24):
        local = (h - first_hour) % 24
        hours[h] = 20 + (h * 7919) % 5 if 9 <= local < 17 else (h * 104729) % 2  # busy days, quiet nights
    spike = MONDAY // 60 + 11
    hours[spike] = 140
    found = evaluate(rule, ctx(MONDAY, MONDAY + 1440, utc), anomaly.Input({"acme": hours}))
    flagged = sorted({p.minute // 60 for p in found["acme"]})
    assert flagged == [spike]
    point = found["acme"][0]
    assert point.value == 140 and point.expected is not None and 15 <= point.expected <= 30
    assert point.upper is not None and point.lower is not None and point.lower <= point.expected < point.upper < 140
    # a young group (no minHistoryDays of its own history) is never judged
    young = {h: n for h, n in hours.items() if h >= MONDAY // 60 - 5 * 24}
    assert evaluate(rule, ctx(MONDAY, MONDAY + 1440, utc), anomaly.Input({"acme": young})) == {}
    # the same hour's verdict does not depend on where an evaluation range starts
    later = evaluate(rule, ctx(spike * 60 + 30, spike * 60 + 45, utc), anomaly.Input({"acme": hours}))
    assert [p.minute for p in later["acme"]] == list(range(spike * 60, spike * 60 + 60))  # the whole hour
