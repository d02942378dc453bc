"""Recipient parsing: the kinds, and a one-line reason for everything refused."""

from __future__ import annotations

import re

import pytest

from signwatch.notify import Recipient, parse_recipient


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ops@example.com", Recipient("email", "ops@example.com")),
        ("  ops+alerts@mail.example.com ", Recipient("email", "ops+alerts@mail.example.com")),
        ("mailto:ops@example.com", Recipient("email", "ops@example.com")),
        ("MAILTO:ops@localhost", Recipient("email", "ops@localhost")),
        (
            "slack+https://hooks.example.com/services/T0/B0/x",
            Recipient("slack", "https://hooks.example.com/services/T0/B0/x"),
        ),
        (
            "https://hooks.slack.com/services/T0/B0/secret",
            Recipient("slack", "https://hooks.slack.com/services/T0/B0/secret"),
        ),
        ("https://siem.example.com/hooks/signwatch", Recipient("webhook", "https://siem.example.com/hooks/signwatch")),
        ("http://10.1.2.3:8080/in?team=sec", Recipient("webhook", "http://10.1.2.3:8080/in?team=sec")),
        ("HTTPS://Example.com/x", Recipient("webhook", "HTTPS://Example.com/x")),
        ("https://bücher.example/hook", Recipient("webhook", "https://bücher.example/hook")),
        ("https://[2001:db8::1]:8443/hook", Recipient("webhook", "https://[2001:db8::1]:8443/hook")),
    ],
)
def test_kinds(text: str, expected: Recipient) -> None:
    assert parse_recipient(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("ops", "neither an email address nor an http(s) URL"),
        ("ops@", "not a valid email address"),
        ("@example.com", "not a valid email address"),
        ("a@b@example.com", "not a valid email address"),
        ('"ops"@example.com', "not a valid email address"),
        ("ops@example.com,eve@evil.example", "not a valid email address"),
        ("ops@example.com\r\nBcc: eve@evil.example", "whitespace or control characters"),
        ("mailto:", "not a valid email address"),
        ("ftp://files.example.com/x", "not an http(s) URL"),
        ("https:///path-only", "has no host"),
        ("https://example.com:99999/", "not a valid URL"),
        ("slack+http://hooks.example.com/x", "must use https"),
        ("http://hooks.slack.com/services/x", "must use https"),
        ("slack+ftp://x.example", "not an http(s) URL"),
        ("https://exa mple.com/", "whitespace"),
        ("https://exa..mple.com/", "invalid host name"),
        ("https://" + "a" * 64 + ".example/", "invalid host name"),
        ("x" * 3000, "longer than"),
    ],
)
def test_refusals_are_one_line_reasons(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)) as info:
        parse_recipient(text)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
