"""Rendering: webhook body, Slack blocks, email subject and body from an alert's wire JSON (pure)."""

from __future__ import annotations

from types import MappingProxyType

import orjson

from signwatch.notify import render
from tests.notify.conftest import ALERT


def test_webhook_body_wraps_the_alert() -> None:
    assert orjson.loads(render.webhook_body(ALERT)) == {"type": "alert.fired", "alert": ALERT}
    resolved = {**ALERT, "state": "resolved", "resolvedAt": "2026-11-20T13:00:00Z"}
    assert orjson.loads(render.webhook_body(resolved))["type"] == "alert.resolved"
    frozen = MappingProxyType({**ALERT, "evidence": MappingProxyType(ALERT["evidence"])})
    assert orjson.loads(render.webhook_body(frozen))["alert"] == ALERT


def test_title() -> None:
    assert render.title(ALERT) == "[signwatch] HIGH Void-rate spike — acme (fired)"
    assert render.title({**ALERT, "state": "resolved"}).endswith("(resolved)")
    assert render.title({"id": "a", "ruleName": "x\ny", "severity": "low"}) == "[signwatch] LOW x y (fired)"


def test_slack_payload_shape() -> None:
    payload = render.slack_payload(ALERT)
    assert payload["text"] == render.title(ALERT)
    header, section, context = payload["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "HIGH · Void-rate spike", "emoji": True}}
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    text = section["text"]["text"]
    for fact in ("*Tenant:* acme", "*Group:* acme", "*Observed:* 0.4231", "*Expected:* 0.05"):
        assert fact in text
    assert "*Window:* 2026-11-20T11:00:00Z → 2026-11-20T12:00:00Z" in text
    assert "Threshold" not in text and "Resolved at" not in text  # absent values are left out
    assert context["type"] == "context"
    assert "alt_01JD7Q" in context["elements"][0]["text"]
    assert "docs/runbooks/void-rate-spike.md" in context["elements"][0]["text"]


def test_slack_escapes_and_limits() -> None:
    hostile = {**ALERT, "tenant": "<!channel> & <http://evil|click>", "ruleName": "r" * 400}
    payload = render.slack_payload(hostile)
    header, section, _ = payload["blocks"]
    assert len(header["text"]["text"]) <= render.SLACK_HEADER_LIMIT
    assert "&lt;!channel&gt; &amp; &lt;http://evil|click&gt;" in section["text"]["text"]
    assert "<!channel>" not in section["text"]["text"]


def test_email_text() -> None:
    text = render.email_text(ALERT)
    assert text.startswith("Void-rate spike fired for acme.\n")
    for line in ("Severity:", "Observed:", "0.4231", "Alert:", "alt_01JD7Q", "Runbook:", "Evidence:", "mallory@"):
        assert line in text
    assert render.email_text({"id": "a"}).startswith("An alert fired.")


def test_numbers() -> None:
    assert render.number(12) == "12"
    assert render.number(12.0) == "12"
    assert render.number(0.123456) == "0.1235"
    assert render.number(None) is None
    assert render.number(float("nan")) == "nan"
