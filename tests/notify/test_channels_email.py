"""Email delivery against real SMTP servers (aiosmtpd on loopback): message shape and the SMTP reply policy."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx

from signwatch.notify import NotifySettings, Outcome, Recipient, deliver
from tests.conftest import free_port
from tests.notify.conftest import ALERT, KEY, NOW, Inbox, Smtp

TO = "ops@acme.example"


def send(port: int, alert: dict[str, Any] = ALERT, to: str = TO, **settings: Any) -> Outcome:
    config = NotifySettings(
        signing_key=KEY,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="alerts@signwatch.example",
        smtp_helo="signwatch.test",
        timeout_seconds=5,
        **settings,
    )

    async def go() -> Outcome:
        async with httpx.AsyncClient(trust_env=False) as http:  # unused by email, required by the signature
            return await deliver(Recipient("email", to), alert, settings=config, http=http, now=NOW)

    return asyncio.run(go())


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_email_is_delivered_with_subject_from_to_and_body() -> None:
    with Smtp(Inbox()) as smtp:
        outcome = send(smtp.port)
    assert outcome == Outcome(True, False, "SMTP 250")
    [(mail_from, rcpt_tos, raw)] = smtp.inbox.messages
    assert (mail_from, rcpt_tos) == ("alerts@signwatch.example", [TO])
    message = parsed(raw)
    assert message["Subject"] == "[signwatch] HIGH Void-rate spike — acme (fired)"
    assert message["From"] == "alerts@signwatch.example"
    assert message["To"] == TO
    assert message["Date"] == "Fri, 20 Nov 2026 12:00:00 +0000"
    assert message["Message-ID"].startswith("<alt_01JD7Q.fired.") and message["Message-ID"].endswith(
        "@signwatch.example>"
    )
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Signwatch-Alert-Id"] == "alt_01JD7Q"
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert body.startswith("Void-rate spike fired for acme.")
    assert "alt_01JD7Q" in body and "docs/runbooks/void-rate-spike.md" in body


def test_message_id_is_stable_per_alert_state_and_recipient() -> None:
    with Smtp(Inbox()) as smtp:
        for alert, to in [(ALERT, TO), (ALERT, TO), ({**ALERT, "state": "resolved"}, TO), (ALERT, "sec@acme.example")]:
            assert send(smtp.port, alert, to).ok
    ids = [parsed(raw)["Message-ID"] for _, _, raw in smtp.inbox.messages]
    assert ids[0] == ids[1]  # a retry is recognisably the same message
    assert len({ids[0], ids[2], ids[3]}) == 3
    assert parsed(smtp.inbox.messages[2][2])["Subject"].endswith("(resolved)")


def test_permanent_refusal_is_not_retryable() -> None:
    with Smtp(Inbox(rcpt_reply="550 5.1.1 No such user")) as smtp:
        outcome = send(smtp.port)
    assert outcome == Outcome(False, False, "SMTP 550 5.1.1 No such user")
    assert smtp.inbox.messages == []


def test_temporary_refusal_is_retryable() -> None:
    with Smtp(Inbox(rcpt_reply="451 4.7.1 Greylisted, try again later")) as smtp:
        outcome = send(smtp.port)
    assert outcome == Outcome(False, True, "SMTP 451 4.7.1 Greylisted, try again later")


def test_no_server_listening_is_retryable() -> None:
    outcome = send(free_port())
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert outcome.detail.startswith("SMTP connection to 127.0.0.1:")


def test_login_then_send() -> None:
    seen: list[tuple[str, bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        seen.append((mechanism, auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"right", handled=False)

    with Smtp(Inbox(), authenticator=authenticator, auth_require_tls=False) as smtp:
        assert send(smtp.port, smtp_username="signwatch", smtp_password="right").ok
        wrong = send(smtp.port, smtp_username="signwatch", smtp_password="wrong")
    assert (wrong.ok, wrong.retryable) == (False, False)
    assert wrong.detail.startswith("SMTP 535")
    assert seen[0][1:] == (b"signwatch", b"right")
    assert len(smtp.inbox.messages) == 1


def test_starttls_not_offered_is_a_settings_error() -> None:
    with Smtp(Inbox()) as smtp:
        outcome = send(smtp.port, smtp_starttls=True)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "STARTTLS" in outcome.detail
