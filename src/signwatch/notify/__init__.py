"""Notify (design §1 notify/): outbound alert notifications — recipients, channels, SSRF guard, signing, retry.

Pure of the store: the notification worker reads the outbox, calls `deliver` with injected clients and `now`,
and records the `Outcome` (sent, retry after `next_delay`, or dead-letter).
"""

from signwatch.notify.channels import NotifySettings, Outcome, deliver
from signwatch.notify.guard import AllowList, Refused, check_url
from signwatch.notify.recipients import Recipient, parse_recipient
from signwatch.notify.retry import MAX_ATTEMPTS, next_delay
from signwatch.notify.signing import verify_signature

__all__ = [
    "MAX_ATTEMPTS",
    "AllowList",
    "NotifySettings",
    "Outcome",
    "Recipient",
    "Refused",
    "check_url",
    "deliver",
    "next_delay",
    "parse_recipient",
    "verify_signature",
]
