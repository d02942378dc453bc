"""SCIM 2.0 discovery documents, pure: `/ServiceProviderConfig`, `/ResourceTypes` and the core User and Group
`/Schemas` (RFC 7643 §5-§8) that signwatch serves; they describe what auth/scim.py implements."""

from __future__ import annotations

from typing import Any

from signwatch.auth.scim import ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RT_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
MAX_RESULTS = 200


def _attr(
    name: str,
    kind: str = "string",
    *,
    multi: bool = False,
    required: bool = False,
    mutability: str = "readWrite",
    returned: str = "default",
    uniqueness: str = "none",
    case_exact: bool = False,
    sub: list[dict[str, Any]] | None = None,
    canonical: list[str] | None = None,
    refs: list[str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": multi,
        "description": name,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": returned,
        "uniqueness": uniqueness,
    }
    if sub is not None:
        out["subAttributes"] = sub
    if canonical is not None:
        out["canonicalValues"] = canonical
    if refs is not None:
        out["referenceTypes"] = refs
    return out


def _multi(name: str, types: list[str], value_kind: str = "string") -> dict[str, Any]:
    return _attr(
        name,
        "complex",
        multi=True,
        sub=[
            _attr("value", value_kind),
            _attr("display"),
            _attr("type", canonical=types),
            _attr("primary", "boolean"),
        ],
    )


def _meta(name: str, schema_id: str, description: str, attributes: list[dict[str, Any]], base: str) -> dict[str, Any]:
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": schema_id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{schema_id}"},
    }


def user_schema(base: str) -> dict[str, Any]:
    name = _attr(
        "name",
        "complex",
        sub=[
            _attr(n)
            for n in ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"]
        ],
    )
    groups = _attr(
        "groups",
        "complex",
        multi=True,
        mutability="readOnly",
        sub=[
            _attr("value", mutability="readOnly"),
            _attr("$ref", "reference", mutability="readOnly", refs=["Group"]),
            _attr("display", mutability="readOnly"),
            _attr("type", mutability="readOnly", canonical=["direct", "indirect"]),
        ],
    )
    attributes = [
        _attr("userName", required=True, uniqueness="server"),
        name,
        *(
            _attr(n)
            for n in ["displayName", "nickName", "title", "userType", "preferredLanguage", "locale", "timezone"]
        ),
        _attr("profileUrl", "reference", refs=["external"]),
        _attr("active", "boolean"),
        _attr("password", mutability="writeOnly", returned="never"),
        _multi("emails", ["work", "home", "other"]),
        _multi("phoneNumbers", ["work", "home", "mobile", "fax", "pager", "other"]),
        groups,
    ]
    return _meta("User", USER_SCHEMA, "User Account", attributes, base)


def group_schema(base: str) -> dict[str, Any]:
    members = _attr(
        "members",
        "complex",
        multi=True,
        sub=[
            _attr("value", mutability="immutable"),
            _attr("$ref", "reference", mutability="immutable", refs=["User"]),
            _attr("display", mutability="readOnly"),
            _attr("type", mutability="immutable", canonical=["User"]),
        ],
    )
    return _meta("Group", GROUP_SCHEMA, "Group", [_attr("displayName", required=True), members], base)


def enterprise_schema(base: str) -> dict[str, Any]:
    attributes = [_attr(n) for n in ["employeeNumber", "costCenter", "organization", "division", "department"]]
    manager = _attr("manager", "complex", sub=[_attr("value"), _attr("displayName", mutability="readOnly")])
    return _meta("EnterpriseUser", ENTERPRISE, "Enterprise User", [*attributes, manager], base)


def schemas(base: str) -> list[dict[str, Any]]:
    return [user_schema(base), group_schema(base), enterprise_schema(base)]


def resource_types(base: str) -> list[dict[str, Any]]:
    def rt(name: str, endpoint: str, schema: str, extensions: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "schemas": [RT_SCHEMA],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "description": name,
            "schema": schema,
            "schemaExtensions": extensions,
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{name}"},
        }

    return [
        rt("User", "/Users", USER_SCHEMA, [{"schema": ENTERPRISE, "required": False}]),
        rt("Group", "/Groups", GROUP_SCHEMA, []),
    ]


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://github.com/signwatch/signwatch/blob/main/docs/scim.md",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A signwatch token with the scim scope, sent as Authorization: Bearer <token>",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
    }
