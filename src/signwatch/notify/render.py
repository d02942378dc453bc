"""Notify (design §1 notify/): render — the pure text of a notification: webhook body, Slack message, email.

Every function takes the alert's wire JSON (camelCase) and returns bytes, a dict or strings; no I/O, so the
formats are tested without a network and stay the same whichever channel sends them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import orjson

PRODUCT = "signwatch"
SLACK_HEADER_LIMIT = 150  # Slack refuses a header block longer than this
SLACK_TEXT_LIMIT = 3000  # ... and a section text longer than this


def event_type(alert: Mapping[str, Any]) -> str:
    """`alert.resolved` for a resolved alert, else `alert.fired`."""
    return "alert.resolved" if alert.get("state") == "resolved" else "alert.fired"


def verb(alert: Mapping[str, Any]) -> str:
    return "resolved" if alert.get("state") == "resolved" else "fired"


def webhook_body(alert: Mapping[str, Any]) -> bytes:
    """The webhook JSON: `{"type": "alert.fired"|"alert.resolved", "alert": {...the alert as given...}}`."""
    return orjson.dumps({"type": event_type(alert), "alert": alert}, default=_plain)


def title(alert: Mapping[str, Any]) -> str:
    """`[signwatch] HIGH Void-rate spike — acme (fired)`: the email subject and the Slack fallback text."""
    severity = str(alert.get("severity") or "unknown").upper()
    name = alert.get("ruleName") or alert.get("ruleId") or "alert"
    tenant = f" — {alert['tenant']}" if alert.get("tenant") else ""
    return _one_line(f"[{PRODUCT}] {severity} {name}{tenant} ({verb(alert)})")


def facts(alert: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The labelled facts both Slack and email show, in order, leaving out what the alert does not have."""
    rows = [
        ("Tenant", alert.get("tenant")),
        ("Group", alert.get("groupKey")),
        ("Observed", number(alert.get("value"))),
        ("Threshold", number(alert.get("threshold"))),
        ("Expected", number(alert.get("expected"))),
        ("Window", window(alert)),
        ("Fired at", alert.get("firedAt")),
        ("Resolved at", alert.get("resolvedAt")),
    ]
    return [(label, _one_line(str(value))) for label, value in rows if value not in (None, "")]


def slack_payload(alert: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: fallback `text`, a header (severity + rule), a section of facts and a
    context line with the alert id (and runbook)."""
    severity = str(alert.get("severity") or "unknown").upper()
    name = str(alert.get("ruleName") or alert.get("ruleId") or "alert")
    resolved = " — resolved" if alert.get("state") == "resolved" else ""
    header = _clip(_one_line(f"{severity} · {name}{resolved}"), SLACK_HEADER_LIMIT)
    lines = [f"*{label}:* {_slack_escape(value)}" for label, value in facts(alert)]
    context = [f"Alert `{_slack_escape(str(alert.get('id', '?')))}`"]
    if alert.get("ruleId"):
        context.append(f"rule `{_slack_escape(str(alert['ruleId']))}`")
    if alert.get("runbook"):
        context.append(f"runbook: {_slack_escape(str(alert['runbook']))}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines) or name, SLACK_TEXT_LIMIT)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(" · ".join(context), SLACK_TEXT_LIMIT)}]},
    ]
    return {"text": title(alert), "blocks": blocks}


def slack_body(alert: Mapping[str, Any]) -> bytes:
    return orjson.dumps(slack_payload(alert))


def email_text(alert: Mapping[str, Any]) -> str:
    """The plain-text email body: a sentence, the facts, the ids and runbook, then the evidence as JSON."""
    name = alert.get("ruleName") or alert.get("ruleId") or "An alert"
    where = f" for {alert['tenant']}" if alert.get("tenant") else ""
    rows = [("Severity", str(alert.get("severity") or "unknown")), *facts(alert)]
    rows += [(label, _one_line(str(alert[key]))) for label, key in _IDS if alert.get(key)]
    width = max(len(label) for label, _ in rows) + 2
    out = [f"{name} {verb(alert)}{where}.", ""]
    out += [f"{label + ':':<{width}}{value}" for label, value in rows]
    if alert.get("evidence"):
        evidence = orjson.dumps(alert["evidence"], default=_plain, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        out += ["", "Evidence:", evidence.decode()]
    out += ["", f"-- \nSent by {PRODUCT}. This message is automated; replies are not read."]
    return "\n".join(out) + "\n"


_IDS = (("Rule", "ruleId"), ("Alert", "id"), ("Mode", "mode"), ("Runbook", "runbook"))


def window(alert: Mapping[str, Any]) -> str | None:
    start, end = alert.get("windowStart"), alert.get("windowEnd")
    if start and end:
        return f"{start} → {end}"
    return str(start or end) if (start or end) else None


def number(value: object) -> str | None:
    """A count as `12`, a ratio or rate as `0.4231` (4 significant digits), None as None."""
    if value is None or isinstance(value, bool):
        return None if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def _plain(value: object) -> object:
    """orjson fallback for mappings that are not dicts (e.g. MappingProxyType)."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    """Slack mrkdwn control characters (& < >), so a value cannot inject a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
