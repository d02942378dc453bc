"""Notify (design §1 notify/): channels — deliver one notification by webhook, Slack or email; report an Outcome.

The worker owns the outbox: it calls `deliver` with an injected `httpx.AsyncClient` and the current time, then
marks the notification sent (`ok`), schedules a retry (`retryable`, see `retry.next_delay`) or dead-letters it.
Nothing here reads a clock, a global client or the store.

HTTP rules: every URL passes the SSRF guard first and the connection goes to the vetted address; redirects
are not followed; 2xx is success; 408, 429, 5xx, timeouts and connection errors are retryable; any other
status (other 4xx, an unfollowed 3xx) is final. Email goes through `smtplib` in a worker thread: connection
errors and 4xx replies are retryable, 5xx replies are final.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import httpx

from signwatch.notify import render
from signwatch.notify.guard import AllowList, Refused, check_url
from signwatch.notify.recipients import Recipient
from signwatch.notify.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, timestamp

ALERT_ID_HEADER = "X-Signwatch-Alert-Id"
USER_AGENT = "signwatch-notify"
RETRYABLE_STATUS = frozenset({408, 429})
MAX_RETRY_AFTER = timedelta(hours=6)  # a receiver's Retry-After beyond this is clipped
DETAIL_LIMIT = 300


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """How to reach recipients. Built once from the app's Settings; safe to share."""

    signing_key: str = field(repr=False)  # HMAC key for outbound webhooks (never printed)
    allow_private: tuple[str, ...] = ()  # hosts or CIDRs that may be private/loopback (tests, intranet receivers)
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_from: str = "signwatch@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    timeout_seconds: float = 10.0
    smtp_helo: str | None = None  # the EHLO name; None → smtplib's default, the machine's FQDN

    def __post_init__(self) -> None:
        AllowList.parse(self.allow_private)  # a malformed CIDR fails at start-up, not at the first alert


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one delivery attempt."""

    ok: bool
    retryable: bool  # False → dead-letter at once (e.g. refused URL, 4xx other than 408/429)
    detail: str  # one line: "HTTP 500", "refused: 127.0.0.1 is a loopback address", "SMTP 250"
    retry_after: timedelta | None = None  # the receiver's Retry-After (429/503), a floor for the next delay


async def deliver(
    recipient: Recipient,
    alert: Mapping[str, Any],
    *,
    settings: NotifySettings,
    http: httpx.AsyncClient,
    now: datetime,
) -> Outcome:
    """Send `alert` (its wire JSON) to `recipient` once. Never raises for a delivery failure: see Outcome."""
    if recipient.kind == "webhook":
        body = render.webhook_body(alert)
        stamp = timestamp(now)
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(body, stamp, settings.signing_key),
            ALERT_ID_HEADER: _header_value(str(alert.get("id", ""))),
        }
        return await post(recipient.target, body, headers, settings=settings, http=http, now=now)
    if recipient.kind == "slack":
        body = render.slack_body(alert)
        headers = {"Content-Type": "application/json"}
        return await post(recipient.target, body, headers, settings=settings, http=http, now=now)
    if recipient.kind == "email":
        message = email_message(recipient.target, alert, settings=settings, now=now)
        return await asyncio.to_thread(send_email, message, recipient.target, settings)
    raise ValueError(f"unknown recipient kind {recipient.kind!r}")


async def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    settings: NotifySettings,
    http: httpx.AsyncClient,
    now: datetime,
) -> Outcome:
    """POST `body` to `url` after the SSRF guard, connecting only to the vetted addresses (the next one on a
    refused connection, as a plain client would) and never following a redirect."""
    try:
        checked = await check_url(url, AllowList.parse(settings.allow_private))
    except Refused as exc:
        return Outcome(False, False, f"refused: {exc}")
    except OSError as exc:  # socket.gaierror: DNS may recover
        return Outcome(False, True, _detail(f"DNS lookup failed for {httpx.URL(url).host}: {exc}"))
    sent_headers = {"User-Agent": USER_AGENT, **headers, "Host": checked.url.netloc.decode("ascii")}
    failure: Outcome | None = None
    for address in checked.addresses:
        request = http.build_request(
            "POST",
            checked.pinned(address),
            content=body,
            headers=sent_headers,
            timeout=settings.timeout_seconds,
            extensions={"sni_hostname": checked.host},
        )
        try:
            response = await http.send(request, stream=True, follow_redirects=False)
        except httpx.ConnectError as exc:  # nothing was sent: try the next address
            failure = Outcome(False, True, _detail(f"connection to {address} failed: {exc}"))
            continue
        except httpx.TimeoutException:
            return Outcome(False, True, f"timeout after {settings.timeout_seconds:g}s")
        except httpx.TransportError as exc:
            return Outcome(False, True, _detail(f"{type(exc).__name__}: {exc}"))
        await response.aclose()  # the status is all we need; never read an unbounded body
        return _http_outcome(response, now)
    assert failure is not None  # check_url returns at least one address
    return failure


def _http_outcome(response: httpx.Response, now: datetime) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(True, False, f"HTTP {status}")
    if status in RETRYABLE_STATUS or status >= 500:
        return Outcome(False, True, f"HTTP {status}", retry_after(response.headers.get("Retry-After"), now))
    if 300 <= status < 400:
        return Outcome(False, False, f"HTTP {status} (redirects are not followed; use the final URL)")
    return Outcome(False, False, f"HTTP {status}")


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds or an HTTP date) as a delay from `now`, clipped to MAX_RETRY_AFTER."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            delay = parsedate_to_datetime(value) - now
        except (TypeError, ValueError):
            return None
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))


def email_message(to: str, alert: Mapping[str, Any], *, settings: NotifySettings, now: datetime) -> EmailMessage:
    """The alert as a plain-text email. The Message-ID is derived from (alert, state, recipient), so a retry
    after a lost acknowledgement is recognisably the same message to the receiving mail system."""
    message = EmailMessage()
    message["Subject"] = render.title(alert)
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(to, alert, settings.smtp_from)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message[ALERT_ID_HEADER] = _header_value(str(alert.get("id", "")))
    message.set_content(render.email_text(alert))
    return message


def message_id(to: str, alert: Mapping[str, Any], sender: str) -> str:
    domain = sender.rpartition("@")[2] or "localhost"
    alert_id = re.sub(r"[^A-Za-z0-9_-]", "-", str(alert.get("id", "alert")))[:64]
    digest = hashlib.sha256(f"{alert.get('id')}\0{alert.get('state')}\0{to}".encode()).hexdigest()[:16]
    return f"<{alert_id}.{render.verb(alert)}.{digest}@{domain}>"


def send_email(message: EmailMessage, to: str | list[str], settings: NotifySettings) -> Outcome:
    """Blocking: hand `message` to the configured SMTP server. Run it in a thread (`asyncio.to_thread`).
    With several recipients, it counts as sent when the server took it for at least one (the refused are
    named in the outcome's detail)."""
    to_addrs = [to] if isinstance(to, str) else to
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, local_hostname=settings.smtp_helo, timeout=settings.timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            refused = smtp.send_message(message, from_addr=settings.smtp_from, to_addrs=to_addrs)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (550, b"recipient refused"))
        return _smtp_outcome(code, reply)
    except smtplib.SMTPResponseException as exc:  # sender refused, data refused, auth failed, bad greeting
        return _smtp_outcome(exc.smtp_code, exc.smtp_error)
    except smtplib.SMTPNotSupportedError as exc:  # e.g. STARTTLS or AUTH not offered: fix the settings
        return Outcome(False, False, _detail(f"SMTP: {exc}"))
    except (smtplib.SMTPException, OSError) as exc:  # disconnects, refused connections, timeouts, TLS errors
        return Outcome(False, True, _detail(f"SMTP connection to {settings.smtp_host}:{settings.smtp_port}: {exc}"))
    if refused:  # only possible with several recipients: the others have it, so no retry for everyone
        return Outcome(True, False, _detail(f"SMTP 250; refused: {', '.join(sorted(refused))}"))
    return Outcome(True, False, "SMTP 250")


def _smtp_outcome(code: int, reply: bytes | str) -> Outcome:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    detail = _detail(f"SMTP {code} {text}")
    if 200 <= code < 300:
        return Outcome(True, False, detail)
    return Outcome(False, not 500 <= code < 600, detail)


def _detail(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= DETAIL_LIMIT else line[: DETAIL_LIMIT - 1] + "…"


def _header_value(text: str) -> str:
    return "".join(ch for ch in text if 32 < ord(ch) < 127)[:200]
