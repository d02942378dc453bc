"""Sources (design §2 sources/): DocuSign — Connect (webhooks) and the Monitor stream, one import for both.

The two feeds are separate concepts with separate modules: `docusign_connect` (HMAC verification, JSON SIM
messages) and `docusign_monitor` (stream rows in both directions). Mapping tables: docs/docusign.md.
"""

from __future__ import annotations

from signwatch.sources.docusign_connect import (
    CONNECT_TYPES,
    connect_type,
    parse_connect,
    sign_connect,
    verify_connect,
)
from signwatch.sources.docusign_monitor import (
    MONITOR_TYPES,
    monitor_action,
    monitor_event_id,
    monitor_row,
    monitor_type,
    parse_monitor_row,
)

__all__ = [
    "CONNECT_TYPES",
    "MONITOR_TYPES",
    "connect_type",
    "monitor_action",
    "monitor_event_id",
    "monitor_row",
    "monitor_type",
    "parse_connect",
    "parse_monitor_row",
    "sign_connect",
    "verify_connect",
]
