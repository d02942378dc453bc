"""Notify (design §1 notify/): recipients — parse a rule's recipient text into a typed webhook, Slack or email target.

Rule validation calls `parse_recipient` on every entry (a ValueError becomes a 422 for that field), and the
notification worker calls it again on the stored text, so both read recipients the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

Kind = Literal["webhook", "slack", "email", "subscribers"]

# The recipient written for alerts that mapped groups receive (`signwatch groups map --alerts`): resolved to
# the groups' active members' addresses when the notification is sent (notify/outbox.py).
SUBSCRIBERS = "subscribers"

SLACK_PREFIX = "slack+"
SLACK_HOSTS = frozenset({"hooks.slack.com"})
MAX_LENGTH = 2048

# A pragmatic address check, not RFC 5322: one `@`, no spaces, quotes, brackets or separators (which would
# let a recipient smuggle a second address or a header), and a domain of letter/digit/hyphen labels.
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where one notification goes: an HTTP(S) URL for webhook and Slack, an address for email."""

    kind: Kind
    target: str


def parse_recipient(text: str) -> Recipient:
    """`ops@example.com` or `mailto:ops@example.com` → email; `slack+https://…` or an https URL on
    hooks.slack.com → Slack; any other http(s) URL → webhook; `subscribers` → the members of the groups
    mapped to receive the alert. Anything else raises ValueError (one line)."""
    value = text.strip()
    if not value:
        raise ValueError("recipient is empty: give an email address, an http(s) webhook URL or a Slack webhook URL")
    if len(value) > MAX_LENGTH:
        raise ValueError(f"recipient is longer than {MAX_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError(f"recipient {_show(value)} contains whitespace or control characters")
    lowered = value.lower()
    if lowered == SUBSCRIBERS:
        return Recipient("subscribers", "")
    if lowered.startswith("mailto:"):
        return Recipient("email", _email(value[len("mailto:") :]))
    if lowered.startswith(SLACK_PREFIX):
        url = _url(value[len(SLACK_PREFIX) :])
        if urlsplit(url).scheme != "https":
            raise ValueError(f"Slack webhook {_show(value)} must use https")
        return Recipient("slack", url)
    if "://" in value:
        url = _url(value)
        if (urlsplit(url).hostname or "") in SLACK_HOSTS:
            if urlsplit(url).scheme != "https":
                raise ValueError(f"Slack webhook {_show(value)} must use https")
            return Recipient("slack", url)
        return Recipient("webhook", url)
    if "@" in value:
        return Recipient("email", _email(value))
    raise ValueError(
        f"recipient {_show(value)} is neither an email address nor an http(s) URL "
        "(use ops@example.com, https://hooks.example.com/… or slack+https://…)"
    )


def _email(address: str) -> str:
    if not _EMAIL.fullmatch(address):
        raise ValueError(f"{_show(address)} is not a valid email address")
    return address


def _url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ValueError(f"{_show(url)} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{_show(url)} is not an http(s) URL (scheme {parts.scheme!r})")
    if not parts.hostname:
        raise ValueError(f"{_show(url)} has no host")
    try:  # the same parsing and IDNA encoding the channel will use
        httpx.URL(url).raw_host.decode("ascii").encode("idna")
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise ValueError(f"{_show(url)} has an invalid host name: {' '.join(str(exc).split())}") from None
    return url


def _show(value: str, limit: int = 80) -> str:
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")
