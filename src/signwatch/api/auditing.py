"""Audit (the monitor's own trail): every authenticated API call recorded before its answer leaves.

An ASGI middleware: when a route's scope check (`deps.require`) admitted a caller, the answer's status line
is held back until the call's record — who, what (the route), which tenant, the parameters (secrets
redacted), the result count the handler reported (`request.state.audit_count`), the status — is appended
to the hash-chained trail. A read that could not be recorded is not answered (503).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signwatch.api.errors import error_response
from signwatch.audit import AuditRecord, clean
from signwatch.events import utcnow
from signwatch.store import Store

log = logging.getLogger(__name__)

# Route endpoint name → action; unlisted endpoints are recorded under their own name.
ACTIONS = {
    "data": "data.read",
    "export_page": "export.read",
    "create_job": "export.job.create",
    "get_job": "export.job.read",
    "list_jobs": "export.job.list",
    "list_forwarders": "export.forwarder.list",
    "list_rules": "rule.list",
    "create_rule": "rule.create",
    "validate_rule": "rule.validate",
    "get_rule": "rule.read",
    "put_rule": "rule.replace",
    "patch_rule": "rule.update",
    "delete_rule": "rule.delete",
    "backtest_rule": "rule.backtest",
    "list_alerts": "alert.list",
    "get_alert": "alert.read",
    "ack_alert": "alert.ack",
    "resolve_alert": "alert.resolve",
    "create_silence": "silence.create",
    "list_silences": "silence.list",
    "delete_silence": "silence.delete",
    "list_notifications": "notification.list",
    "retry_notification": "notification.retry",
    "organization_stream": "monitor_stream.read",
    "dataset_stream": "monitor_stream.read",
    "read_audit": "audit.read",
    "list_tokens": "token.list",
    "make_token": "token.create",
    "revoke_token": "token.revoke",
}


class AuditMiddleware:
    def __init__(self, app: ASGIApp, store: Store) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []
        recorded = False
        refused = False

        async def send_after_record(message: Message) -> None:
            nonlocal recorded, refused
            if refused:
                return  # the 503 has been sent instead of this answer
            if recorded or message["type"] not in ("http.response.start", "http.response.body"):
                await send(message)
                return
            state: dict[str, Any] = scope.get("state", {})
            caller = state.get("caller")
            if caller is None:
                recorded = True
                await send(message)
                return
            if message["type"] == "http.response.start":
                held.append(message)
                recorded = True
                try:
                    await asyncio.to_thread(self.store.append_audit, [_record(scope, state, message["status"])])
                except Exception:
                    log.exception("could not record an audited call; refusing to answer it")
                    refused = True
                    await error_response(503, "unavailable", "the audit trail cannot be written; retry later")(
                        scope, receive, send
                    )
                    held.clear()
                    return
                await send(held.pop())
                return
            await send(message)

        await self.app(scope, receive, send_after_record)


def _record(scope: Scope, state: dict[str, Any], status: int) -> AuditRecord:
    caller = state["caller"]
    route = scope.get("route")
    endpoint = getattr(route, "name", None) or scope.get("path", "")
    path_params: dict[str, Any] = dict(scope.get("path_params") or {})
    query: dict[str, Any] = {}
    for raw in (scope.get("query_string") or b"").decode("latin-1").split("&"):
        if raw:
            key, _, value = raw.partition("=")
            query[key] = value
    params = clean({**query, **path_params, "method": scope.get("method"), "path": scope.get("path")})
    tenant = path_params.get("tenant") or query.get("tenant")
    target = next((str(v) for k, v in path_params.items() if k.endswith("_id") or k == "organizationId"), None)
    return AuditRecord(
        at=utcnow(),
        actor=caller.name,
        actor_id=caller.token_id,
        action=ACTIONS.get(endpoint, endpoint),
        tenant=tenant,
        target=target,
        params=params,
        result_count=state.get("audit_count"),
        status=status,
    )
