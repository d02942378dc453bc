"""DocuSign sources: Connect signatures, the JSON SIM parser, and Monitor rows in both directions."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signwatch.alerts import alert_event
from signwatch.events import Event, Geo, parse_time
from signwatch.sources.atlas import REDACTED, PayloadError
from signwatch.sources.docusign import (
    CONNECT_TYPES,
    monitor_event_id,
    monitor_row,
    monitor_type,
    parse_connect,
    parse_monitor_row,
    sign_connect,
    verify_connect,
)
from signwatch.store.base import AlertRecord

NOW = datetime(2026, 11, 25, tzinfo=UTC)
ACCOUNT = "24dfce13-9dce-4aa0-ba12-da5389bb9d8a"
ENVELOPE = "a70a5ef2-12c4-4aaf-84c5-b84134dce420"
SENDER_ID = "8c531060-928e-471d-9cac-b829f616b0bf"
SIGNER_ID = "5d4c3b2a-1111-4222-8333-944455556666"
ORG = "9e294b2a-f1fc-4c95-8949-bd2a00000001"


def geo(ip: str) -> Geo:
    return Geo(country="GB", asn="Example Net", network="81.2.69.0/24")


def connect_message(event: str, *, recipient_id: str | None = None, summary: bool = True, **top: Any) -> dict:
    """A JSON SIM message shaped like DocuSign's documented samples (envelope summary included)."""
    data: dict[str, Any] = {"accountId": ACCOUNT, "userId": SENDER_ID, "envelopeId": ENVELOPE}
    if recipient_id:
        data["recipientId"] = recipient_id
    if summary:
        data["envelopeSummary"] = {
            "status": "sent",
            "emailSubject": "Please DocuSign: NDA.pdf",
            "envelopeId": ENVELOPE,
            "documentsUri": f"/envelopes/{ENVELOPE}/documents",
            "recipientsUri": f"/envelopes/{ENVELOPE}/recipients",
            "createdDateTime": "2025-05-30T18:01:02.1230000Z",
            "sentDateTime": "2025-05-30T18:02:10.5170000Z",
            "statusChangedDateTime": "2025-05-30T18:02:10.5170000Z",
            "sender": {
                "userName": "Alice Sender",
                "userId": SENDER_ID,
                "accountId": ACCOUNT,
                "email": "Alice@Acme.example",
                "ipAddress": "81.2.69.142",
            },
            "recipients": {
                "signers": [
                    {
                        "recipientId": "1",
                        "recipientIdGuid": "0f1e2d3c-aaaa-4bbb-8ccc-123456789abc",
                        "userId": SIGNER_ID,
                        "name": "Bob Signer",
                        "email": "Bob@Globex.example",
                        "status": "completed",
                        "accessCode": "4711",
                        "deliveredDateTime": "2025-05-30T18:03:01.0000000Z",
                        "signedDateTime": "2025-05-30T18:03:50.0000000Z",
                        "tabs": {"textTabs": [{"tabLabel": "ssn", "value": "078-05-1120"}]},
                    }
                ],
                "carbonCopies": [{"recipientId": "2", "name": "Carol", "email": "carol@acme.example"}],
            },
            "customFields": {
                "textCustomFields": [
                    {
                        "fieldId": "1",
                        "name": "ClientReferenceId",
                        "show": "true",
                        "required": "false",
                        "value": "CRM-42",
                    },
                    {"fieldId": "2", "name": "Business Unit", "show": "true", "required": "false", "value": "sales"},
                    {"fieldId": "3", "name": "Region", "show": "true", "required": "false", "value": "emea"},
                ],
                "listCustomFields": [],
            },
            "envelopeDocuments": [{"documentId": "1", "name": "NDA.pdf", "PDFBytes": "JVBERi0xLjcK"}],
        }
    return {
        "event": event,
        "apiVersion": "v2.1",
        "uri": f"/restapi/v2.1/accounts/{ACCOUNT}/envelopes/{ENVELOPE}",
        "retryCount": 0,
        "configurationId": 21752918,
        "generatedDateTime": "2025-05-30T18:03:50.4233752Z",
        "data": data,
        **top,
    }


def connect(payload: Any, tenant: str = "acme") -> Event:
    return parse_connect(payload, tenant=tenant, received_at=NOW, geo=geo, delivery_id="dlv_1")


# -- signatures ------------------------------------------------------------------------------------------
BODY = orjson.dumps(connect_message("envelope-sent"))


def test_any_signature_header_under_any_key_verifies() -> None:
    headers = {
        "content-type": "application/json",
        "x-docusign-signature-1": sign_connect(BODY, "retired-key"),
        "X-DOCUSIGN-SIGNATURE-2": sign_connect(BODY, "current-key"),
    }
    assert verify_connect(BODY, headers, ["other-key", "current-key"])


@pytest.mark.parametrize(
    ("body", "headers", "keys"),
    [
        (BODY, {"X-DocuSign-Signature-1": sign_connect(BODY, "current-key")}, ["wrong-key"]),
        (BODY + b" ", {"X-DocuSign-Signature-1": sign_connect(BODY, "current-key")}, ["current-key"]),
        (BODY, {"Content-Type": "application/json"}, ["current-key"]),
        (BODY, {"X-DocuSign-Signature-1": "not base64!"}, ["current-key"]),
        (BODY, {"X-DocuSign-Signature": sign_connect(BODY, "current-key")}, ["current-key"]),
        (BODY, {"X-DocuSign-Signature-101": sign_connect(BODY, "current-key")}, ["current-key"]),
        (BODY, {"X-DocuSign-Signature-1": sign_connect(BODY, "current-key")}, []),
    ],
    ids=["wrong-key", "tampered-body", "missing-header", "malformed", "unnumbered", "past-100", "no-keys"],
)
def test_signature_refusals(body: bytes, headers: dict[str, str], keys: list[str]) -> None:
    assert not verify_connect(body, headers, keys)


@settings(max_examples=50, deadline=None)
@given(body=st.binary(max_size=256), key=st.text(min_size=1, max_size=40), n=st.integers(1, 100))
def test_sign_then_verify_round_trip(body: bytes, key: str, n: int) -> None:
    headers = {f"X-DocuSign-Signature-{n}": sign_connect(body, key)}
    assert verify_connect(body, headers, [key])
    assert not verify_connect(body + b"x", headers, [key])


# -- Connect messages ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "etype"), sorted(CONNECT_TYPES.items()))
def test_each_mapped_connect_event(name: str, etype: str) -> None:
    ev = connect(connect_message(name, recipient_id="1" if name.startswith("recipient-") else None))
    assert (ev.type, ev.source, ev.tenant, ev.envelope_id) == (etype, "docusign-connect", "acme", ENVELOPE)
    assert ev.occurred_at == datetime(2025, 5, 30, 18, 3, 50, 423375, tzinfo=UTC)
    assert (ev.client_reference_id, ev.business_unit, ev.delivery_id) == ("CRM-42", "sales", "dlv_1")
    assert ev.attributes["sourceType"] == name
    if name.startswith("recipient-"):
        assert (ev.actor.id, ev.actor.email) == (SIGNER_ID, "bob@globex.example")
        assert ev.attributes["sender"] == {"id": SENDER_ID, "email": "alice@acme.example"}
        assert ev.ip_address is None  # JSON SIM recipients carry no IP
    else:
        assert (ev.actor.id, ev.actor.email) == (SENDER_ID, "alice@acme.example")
        assert (ev.ip_address, ev.geo.country) == ("81.2.69.142", "GB")


def test_recipient_ip_is_used_when_the_recipient_has_one() -> None:
    payload = connect_message("recipient-completed", recipient_id="0f1e2d3c-aaaa-4bbb-8ccc-123456789abc")
    payload["data"]["envelopeSummary"]["recipients"]["signers"][0]["recipientIPAddress"] = "203.0.113.9"
    ev = connect(payload)
    assert (ev.actor.email, ev.ip_address) == ("bob@globex.example", "203.0.113.9")


@pytest.mark.parametrize(
    ("name", "etype"),
    [
        ("envelope-corrected", "docusign.envelope.corrected"),
        ("recipient-reassign", "docusign.recipient.reassign"),
        ("Template-Created", "docusign.template.created"),
    ],
)
def test_unknown_connect_events_are_kept(name: str, etype: str) -> None:
    ev = connect(connect_message(name))
    assert ev.type == etype and ev.attributes["sourceType"] == name.lower()


def test_attributes_keep_the_rest_without_documents_tabs_or_secrets() -> None:
    ev = connect(connect_message("recipient-completed", recipient_id="1", oauth_token="t"))
    attrs = ev.attributes
    assert (attrs["apiVersion"], attrs["configurationId"], attrs["accountId"]) == ("v2.1", 21752918, ACCOUNT)
    assert attrs["recipientId"] == "1" and attrs["oauth_token"] == REDACTED
    summary = attrs["envelopeSummary"]
    assert summary["envelopeDocuments"] == [{"documentId": "1", "name": "NDA.pdf"}]
    signer = summary["recipients"]["signers"][0]
    assert "tabs" not in signer and signer["accessCode"] == REDACTED
    assert {"name": "Region", "value": "emea"}.items() <= summary["customFields"]["textCustomFields"][2].items()
    assert "078-05-1120" not in orjson.dumps(attrs).decode()


def test_minimal_message_without_summary() -> None:
    """The smallest documented shape: `data` has only accountId, userId, envelopeId."""
    ev = connect(connect_message("envelope-completed", summary=False))
    assert (ev.type, ev.actor.id, ev.actor.email, ev.ip_address) == ("envelope.completed", SENDER_ID, None, None)
    assert ev.client_reference_id is None and "envelopeSummary" not in ev.attributes
    assert connect(connect_message("recipient-delivered", recipient_id="1", summary=False)).actor.id is None


def test_ids_are_stable_across_retries_and_distinct_per_event() -> None:
    first = connect(connect_message("recipient-completed", recipient_id="1"))
    retry = connect(connect_message("recipient-completed", recipient_id="1", retryCount=3))
    assert first.id == retry.id and first.id.startswith("ev_")
    others = [
        connect(connect_message("recipient-completed", recipient_id="2")),
        connect(connect_message("recipient-delivered", recipient_id="1")),
        connect(connect_message("recipient-completed", recipient_id="1", generatedDateTime="2025-05-30T18:04:00Z")),
        connect(connect_message("recipient-completed", recipient_id="1"), tenant="globex"),
    ]
    assert len({first.id, *(e.id for e in others)}) == 5
    with_id = connect(connect_message("envelope-sent", eventId="8d1f0c7e-0000-4000-8000-000000000001"))
    assert with_id.attributes["sourceEventId"] == "8d1f0c7e-0000-4000-8000-000000000001"
    assert with_id.id != connect(connect_message("envelope-sent")).id


def test_missing_time_falls_back_to_receipt() -> None:
    payload = connect_message("envelope-sent")
    del payload["generatedDateTime"]
    ev = connect(payload)
    assert ev.occurred_at == NOW and ev.attributes["occurredAtFrom"] == "receipt"


def _without(field: str) -> dict:
    payload = connect_message("envelope-sent")
    payload["data"].pop(field)
    payload["data"]["envelopeSummary"].pop(field)
    return payload


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([1, 2], "body"),
        ({"data": {"envelopeId": ENVELOPE}}, "event"),
        ({"event": " ", "data": {"envelopeId": ENVELOPE}}, "event"),
        (_without("envelopeId"), "envelopeId"),
        ({"event": "envelope-sent", "data": {"envelopeId": {"id": 1}}}, "envelopeId"),
        ({**connect_message("envelope-sent"), "generatedDateTime": "yesterday"}, "generatedDateTime"),
    ],
)
def test_connect_refusals_name_the_field(payload: Any, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        connect(payload)
    assert info.value.field == field


# -- Monitor rows ----------------------------------------------------------------------------------------
# Two rows as DocuSign's stream returns them (the samples of Sumo Logic's DocuSign app documentation).
DOCUSIGN_EVENT_ROW: dict[str, Any] = {
    "timestamp": "2023-03-03T09:10:06.0512813Z",
    "eventId": "a8010d32-b9f5-4948-9195-50c867d7c3a5",
    "site": "DEMO",
    "accountId": "8949bd2a-f1fc-4c95-ae8e-9e294b2af5b7",
    "organizationId": "9e294b2af5b7-f1fc-4c95-8949bd2a",
    "userId": "9cfb472b-ef1f-4116-8df2-17c53841fd6c",
    "integratorKey": "##DOCUSIGN_INTERNAL_NOT_USED##",
    "userAgent": "",
    "ipAddress": "162.248.186.11",
    "ipAddressLocation": {
        "latitude": 47.6,
        "longitude": -122.33,
        "country": "india",
        "state": "gujarat",
        "city": "akota",
    },
    "object": "Account",
    "action": "UserAdded",
    "property": "",
    "field": "",
    "result": "",
    "source": "API",
    "referencedUserId": "2020ac66-26b5-4367-aff3-f33bd9a007b7",
    "proxyStatus": "",
    "proxyType": "",
    "proxyLevel": "",
    "latitude": 47.6,
    "longitude": -122.33,
    "city": "akota",
    "state": "gujarat",
    "country": "india",
    "data": {
        "AffectedUserId": "2020ac66-26b5-4367-aff3-f33bd9a007b7",
        "AffectedMembershipId": "4da49358-8de5-4f62-9e9a-6029259723bc",
        "PermissionProfileId": "14414475",
    },
}
DOCUSIGN_ALERT_ROW: dict[str, Any] = {
    **DOCUSIGN_EVENT_ROW,
    "eventId": "285e7634-07fd-4877-ac12-b921d0e4b626",
    "accountId": "",
    "object": "Alert",
    "action": "IpAddressOutsideAllowedRanges",
    "source": "Other",
    "referencedUserId": "",
    "data": {
        "EventIds": ["16b4a651-1e21-42a3-90ea-f5227224b591", "1addc090-d227-4166-a279-dc6c5277247b"],
        "Count": "2",
    },
}


def monitor(row: Any, tenant: str = "acme", **kw: Any) -> Event:
    return parse_monitor_row(row, tenant=tenant, received_at=NOW, **kw)


@pytest.mark.parametrize(
    ("obj", "action", "result", "etype"),
    [
        ("Envelope", "Sent", "", "envelope.sent"),
        ("Envelope", "Voided", "", "envelope.voided"),
        ("Envelope", "Purged", "", "envelope.deleted"),
        ("Envelope", "Downloaded", "", "docusign.envelope.downloaded"),
        ("Recipient", "Completed", "", "recipient.completed"),
        ("Recipient", "AuthenticationFailed", "Failed", "auth.failed"),
        ("User", "Login", "Success", "auth.login"),
        ("User", "Login", "Failed", "auth.failed"),
        ("User", "LoginFailed", "", "auth.failed"),
        ("User", "Logout", "", "auth.logout"),
        ("User", "Updated", "", "user.updated"),
        ("Alert", "Fired", "", "alert.fired"),
        ("Alert", "Resolved", "", "alert.resolved"),
        ("Alert", "IpAddressOutsideAllowedRanges", "", "alert.fired"),
        ("Account", "UserAdded", "", "docusign.account.useradded"),
    ],
)
def test_monitor_object_action_to_type(obj: str, action: str, result: str, etype: str) -> None:
    assert monitor_type(obj, action, result) == etype


def test_a_docusign_row_parses_and_keeps_its_columns() -> None:
    ev = monitor(DOCUSIGN_EVENT_ROW, delivery_id="dlv_9")
    assert (ev.type, ev.source, ev.envelope_id) == ("docusign.account.useradded", "docusign-monitor", "")
    assert ev.occurred_at == parse_time("2023-03-03T09:10:06.051281Z")
    assert (ev.actor.id, ev.ip_address, ev.user_agent) == (DOCUSIGN_EVENT_ROW["userId"], "162.248.186.11", None)
    assert (ev.geo.country, ev.geo.city, ev.geo.asn) == ("india", "akota", None)
    assert ev.attributes["sourceEventId"] == DOCUSIGN_EVENT_ROW["eventId"]
    assert (ev.attributes["site"], ev.attributes["source"], ev.attributes["accountId"]) == (
        "DEMO",
        "API",
        DOCUSIGN_EVENT_ROW["accountId"],
    )
    assert ev.attributes["data"]["PermissionProfileId"] == "14414475"
    enriched = monitor(DOCUSIGN_EVENT_ROW, geo=geo)
    assert (enriched.geo.country, enriched.geo.asn, enriched.geo.city) == ("GB", "Example Net", "akota")


def test_docusign_rows_survive_parse_and_write_back() -> None:
    for original in (DOCUSIGN_EVENT_ROW, DOCUSIGN_ALERT_ROW):
        again = monitor_row(monitor(original, tenant=original["accountId"]), organization_id=original["organizationId"])
        assert parse_time(again.pop("timestamp")) == parse_time(original["timestamp"])
        assert again.pop("userAgentClientInfo") is None
        assert again == {k: v for k, v in original.items() if k != "timestamp"}


def test_a_docusign_alert_row() -> None:
    ev = monitor(DOCUSIGN_ALERT_ROW)
    assert (ev.type, ev.attributes["alertName"]) == ("alert.fired", "IpAddressOutsideAllowedRanges")
    assert ev.attributes["eventIds"] == [
        monitor(DOCUSIGN_EVENT_ROW | {"eventId": i}).id for i in DOCUSIGN_ALERT_ROW["data"]["EventIds"]
    ]


def _round_trip_events() -> list[Event]:
    connect_events = [
        connect(connect_message(name, recipient_id="1" if name.startswith("recipient-") else None))
        for name in [*CONNECT_TYPES, "envelope-corrected"]
    ]
    login = Event(
        id="ev_" + "0" * 31 + "1",
        tenant="acme",
        source="atlas",
        type="auth.login",
        occurred_at=NOW,
        envelope_id="",
        ip_address="81.2.69.142",
        geo=geo("81.2.69.142"),
        user_agent="Mozilla/5.0",
    )
    return [*connect_events, login, Event("ev_x", "acme", "atlas", "user.updated", NOW, "")]


@pytest.mark.parametrize("event", _round_trip_events(), ids=lambda e: e.type)
def test_monitor_row_round_trip(event: Event) -> None:
    row = monitor_row(event, organization_id=ORG)
    back = monitor(row)
    assert (back.type, back.actor, back.ip_address, back.occurred_at) == (
        event.type,
        event.actor,
        event.ip_address,
        event.occurred_at,
    )
    assert (back.envelope_id, back.client_reference_id, back.business_unit, back.user_agent) == (
        event.envelope_id,
        event.client_reference_id,
        event.business_unit,
        event.user_agent,
    )
    assert back.geo.country == event.geo.country
    assert back.attributes["sourceEventId"] == row["eventId"] == monitor_event_id(event.id)
    assert monitor(copy.deepcopy(row)).id == back.id  # reading the same row twice gives the same event
    assert monitor_row(back, organization_id=ORG) == row  # a fixed point: written again, nothing changes


def test_row_shape_has_every_docusign_column() -> None:
    row = monitor_row(connect(connect_message("envelope-sent")), organization_id=ORG)
    assert set(row) == set(DOCUSIGN_EVENT_ROW) | {"userAgentClientInfo"}
    assert row["timestamp"] == "2025-05-30T18:03:50.423375Z" and row["accountId"] == "acme"
    assert (row["object"], row["action"], row["source"], row["organizationId"]) == (
        "Envelope",
        "Sent",
        "docusign-connect",
        ORG,
    )
    assert row["ipAddressLocation"] == {"latitude": None, "longitude": None, "country": "GB", "state": "", "city": ""}
    assert (row["country"], row["city"], row["latitude"]) == ("GB", "", None)
    assert row["data"] == {
        "EnvelopeId": ENVELOPE,
        "UserEmail": "alice@acme.example",
        "ClientReferenceId": "CRM-42",
        "BusinessUnit": "sales",
    }
    auth = connect(connect_message("recipient-authenticationfailed", recipient_id="1"))
    assert [monitor_row(auth, organization_id=ORG)[k] for k in ("object", "action", "result")] == [
        "Recipient",
        "AuthenticationFailed",
        "Failed",
    ]


def _alert(state: str) -> AlertRecord:
    fired = datetime(2026, 11, 20, 10, 5, tzinfo=UTC)
    return AlertRecord(
        id="al_1",
        rule_id="rule_1",
        rule_name="Void rate spike",
        tenant="acme",
        group_key="sender:alice@acme.example",
        severity="high",
        mode="active",
        state=state,
        fired_at=fired,
        resolved_at=fired + timedelta(minutes=30) if state == "resolved" else None,
        window_start=fired - timedelta(minutes=15),
        window_end=fired,
        value=9.0,
        threshold=5.0,
        expected=None,
        details={},
    )


@pytest.mark.parametrize(("change", "action"), [("fired", "Fired"), ("resolved", "Resolved")])
def test_alert_events_become_alert_rows(change: str, action: str) -> None:
    sample = ["ev_" + "a" * 32, "ev_" + "b" * 32, "ev_" + "c" * 32]
    event = alert_event(_alert(change), change, datetime(2026, 11, 20, 10, 35, tzinfo=UTC), sample)
    row = monitor_row(event, organization_id=ORG)
    assert (row["object"], row["action"], row["accountId"], row["userId"]) == ("Alert", action, "acme", "")
    assert row["data"]["Severity"] == "high"
    assert row["data"]["EventIds"] == [monitor_event_id(i) for i in sample]
    assert row["data"]["EventIds"][0] == "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
    assert row["data"]["Count"] == "3"  # a string, as in DocuSign's alert rows
    assert (row["data"]["RuleName"], row["data"]["AlertId"]) == ("Void rate spike", "al_1")
    back = monitor(row)
    assert (back.type, back.attributes["severity"]) == (f"alert.{change}", "high")
    assert len(back.attributes["eventIds"]) == 3 and "alertName" not in back.attributes


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("text", "row"),
        ({"object": "Envelope", "action": "Sent"}, "eventId"),
        ({"eventId": "e1", "timestamp": "2026-11-20T10:00:00Z"}, "object"),
        ({"eventId": "e1", "object": "Envelope", "action": "Sent", "timestamp": "soon"}, "timestamp"),
    ],
)
def test_monitor_refusals_name_the_field(row: Any, field: str) -> None:
    with pytest.raises(PayloadError) as info:
        monitor(row)
    assert info.value.field == field


def test_data_given_as_a_json_string_is_read() -> None:
    row = {**DOCUSIGN_EVENT_ROW, "object": "Envelope", "action": "Voided", "data": '{"EnvelopeId": "env-7"}'}
    ev = monitor(row)
    assert (ev.type, ev.envelope_id) == ("envelope.voided", "env-7")
