"""SCIM 2.0 domain, pure: User/Group bodies validated into store fields, and PatchOp applied to a resource
(RFC 7644 §3.5.2), including the dialects of Okta (replace without path) and Entra ("False", "Replace")."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from signwatch.auth.scim import ENTERPRISE, PATCH_SCHEMA, Cmp, Node, ScimError, find_key, matches, parse_filter

USER_STRINGS = [
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
]
_USER_LISTS = ["emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles", "x509Certificates"]
NAME_PARTS = ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"]
_READ_ONLY = {"id", "meta", "schemas", "groups", "password"}  # password is never stored


@dataclass(frozen=True, slots=True)
class UserFields:
    user_name: str
    active: bool
    external_id: str | None
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class GroupFields:
    display_name: str
    external_id: str | None
    members: tuple[str, ...]


def boolean(value: Any, field: str) -> bool:
    """A SCIM boolean; Entra sends "True"/"False" strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimError(400, f"{field} must be a boolean", "invalidValue")


def _string(value: Any, field: str, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise ScimError(400, f"{field} must be a {'non-empty ' if required else ''}string", "invalidValue")
    return value


def _canonical(doc: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """`doc`'s keys spelled as in `names` when they match case-insensitively (unknown keys dropped)."""
    by_low = {n.lower(): n for n in names}
    return {by_low[k.lower()]: v for k, v in doc.items() if k.lower() in by_low}


def _multi(value: Any, field: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScimError(400, f"{field} must be a list of objects", "invalidValue")
    out = []
    for item in value:
        item = dict(item)
        key = find_key(item, "primary")
        if key is not None:
            item["primary"] = boolean(item.pop(key), f"{field}.primary")
        out.append(item)
    return out


def user_fields(doc: Any) -> UserFields:
    """Validate a User body (POST, PUT, or a patched resource) into the store's fields."""
    if not isinstance(doc, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    known = ["userName", "active", "externalId", "name", *USER_STRINGS, *_USER_LISTS, ENTERPRISE]
    body = _canonical(doc, known)
    attrs: dict[str, Any] = {}
    for key in USER_STRINGS:
        if body.get(key) is not None:
            attrs[key] = _string(body[key], key)
    for key in _USER_LISTS:
        if body.get(key):
            attrs[key] = _multi(body[key], key)
    if body.get("name") is not None:
        if not isinstance(body["name"], dict):
            raise ScimError(400, "name must be an object", "invalidValue")
        name = {k: _string(v, f"name.{k}") for k, v in _canonical(body["name"], NAME_PARTS).items() if v is not None}
        if name:
            attrs["name"] = name
    if isinstance(body.get(ENTERPRISE), dict) and body[ENTERPRISE]:
        attrs[ENTERPRISE] = body[ENTERPRISE]
    active = True  # a user without `active` is not deactivated
    if body.get("active") is not None:
        active = attrs["active"] = boolean(body["active"], "active")
    user_name = _string(body.get("userName"), "userName", required=True)
    assert user_name is not None
    return UserFields(user_name, active, _string(body.get("externalId"), "externalId"), attrs)


def group_fields(doc: Any) -> GroupFields:
    if not isinstance(doc, dict):
        raise ScimError(400, "the body must be a JSON object", "invalidSyntax")
    body = _canonical(doc, ["displayName", "externalId", "members"])
    display = _string(body.get("displayName"), "displayName", required=True)
    assert display is not None
    members: list[str] = []
    for m in _multi(body.get("members") or [], "members"):
        value = _string(m.get(find_key(m, "value") or "value"), "members.value", required=True)
        if value is not None and value not in members:
            members.append(value)
    return GroupFields(display, _string(body.get("externalId"), "externalId"), tuple(members))


# -- PATCH -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PatchPath:
    attr: str
    filter: Node | None = None
    sub: str | None = None
    extension: bool = False  # an attribute of the enterprise extension


def parse_path(text: str) -> PatchPath:
    """`attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, each optionally behind a schema URN."""
    raw = text.strip()
    extension = raw.lower().startswith(ENTERPRISE.lower())
    if extension:
        raw = raw[len(ENTERPRISE) :].lstrip(":")
        if not raw:
            return PatchPath(ENTERPRISE)
    elif raw.lower().startswith("urn:"):
        raw = (
            raw.rsplit(":", 1)[1] if "[" not in raw else raw[: raw.index("[")].rsplit(":", 1)[1] + raw[raw.index("[") :]
        )
    flt: Node | None = None
    sub: str | None = None
    if "[" in raw:
        if not raw.rstrip().endswith("]") and "]." not in raw:
            raise ScimError(400, f"bad path {text!r}", "invalidPath")
        attr, _, rest = raw.partition("[")
        inner, _, tail = rest.rpartition("]")
        flt = parse_filter(inner)
        sub = tail.lstrip(".") or None
    else:
        attr, _, tail = raw.partition(".")
        sub = tail or None
    if not attr or not all(c.isalnum() or c in "_-$" for c in attr):
        raise ScimError(400, f"bad path {text!r}", "invalidPath")
    return PatchPath(attr, flt, sub, extension)


def apply_patch(resource: dict[str, Any], body: Any) -> dict[str, Any]:
    """The resource after a PatchOp body; raises ScimError on a malformed body or operation."""
    if not isinstance(body, dict) or PATCH_SCHEMA not in (body.get("schemas") or []):
        raise ScimError(400, f"the body must be a PatchOp ({PATCH_SCHEMA})", "invalidSyntax")
    ops = body.get(find_key(body, "Operations") or "Operations")
    if not isinstance(ops, list) or not ops:
        raise ScimError(400, "Operations must be a non-empty list", "invalidSyntax")
    out = copy.deepcopy(resource)
    for op in ops:
        if not isinstance(op, dict):
            raise ScimError(400, "each operation must be an object", "invalidSyntax")
        name = str(op.get(find_key(op, "op") or "op") or "").lower()
        if name not in ("add", "replace", "remove"):
            raise ScimError(400, f"unknown op {name!r}", "invalidSyntax")
        path = op.get(find_key(op, "path") or "path")
        value = op.get(find_key(op, "value") or "value")
        if path is None or path == "":
            if name == "remove":
                raise ScimError(400, "remove needs a path", "noTarget")
            if not isinstance(value, dict):
                raise ScimError(400, f"{name} without a path needs an object value", "invalidValue")
            for key, v in value.items():
                if key.lower() == ENTERPRISE.lower() and isinstance(v, dict):
                    for sub, sv in v.items():
                        _apply(out, name, parse_path(f"{ENTERPRISE}:{sub}"), sv)
                else:
                    _apply(out, name, parse_path(key), v)
        elif not isinstance(path, str):
            raise ScimError(400, "path must be a string", "invalidPath")
        else:
            if name != "remove" and "value" not in {k.lower() for k in op}:
                raise ScimError(400, f"{name} needs a value", "invalidValue")
            _apply(out, name, parse_path(path), value)
    return out


def _apply(res: dict[str, Any], op: str, p: PatchPath, value: Any) -> None:
    if p.attr.lower() in _READ_ONLY:
        if p.attr.lower() == "password":
            return
        raise ScimError(400, f"{p.attr} is read-only", "mutability")
    container = res
    if p.extension:
        container = res.setdefault(ENTERPRISE, {})
        if p.attr == ENTERPRISE:
            _set(res, ENTERPRISE, op, value)
            return
    key = find_key(container, p.attr) or p.attr
    if p.filter is None and p.sub is None:
        _set(container, key, op, value)
    elif p.filter is None:
        parent = container.get(key)
        if isinstance(parent, list):
            for item in parent:
                _set(item, find_key(item, p.sub or "") or p.sub or "", op, value)
            return
        if parent is None:
            if op == "remove":
                return
            parent = container[key] = {}
        assert p.sub is not None
        _set(parent, find_key(parent, p.sub) or p.sub, op, value)
    else:
        _apply_filtered(container, key, op, p.filter, p.sub, value)


def _apply_filtered(container: dict[str, Any], key: str, op: str, flt: Node, sub: str | None, value: Any) -> None:
    items = container.get(key) or []
    if not isinstance(items, list):
        raise ScimError(400, f"{key} is not multi-valued", "invalidFilter")
    hits = [it for it in items if isinstance(it, dict) and matches(flt, it)]
    if op == "remove":
        if sub is None:
            container[key] = [it for it in items if not any(it is h for h in hits)]
        else:
            for h in hits:
                h.pop(find_key(h, sub) or sub, None)
        return
    if not hits:
        if op == "replace" and sub is None:
            raise ScimError(400, "no value matched the path's filter", "noTarget")
        new: dict[str, Any] = {}
        if isinstance(flt, Cmp) and flt.op == "eq" and len(flt.path) == 1:
            new[flt.path[0]] = flt.value
        if sub is None and isinstance(value, dict):
            new.update(value)
        elif sub is not None:
            new[sub] = value
        container[key] = [*items, new]
        return
    for h in hits:
        if sub is None:
            if not isinstance(value, dict):
                raise ScimError(400, "the value must be an object", "invalidValue")
            h.update(value)
        else:
            h[find_key(h, sub) or sub] = value


def _identity(item: Any) -> Any:
    if isinstance(item, dict):
        key = find_key(item, "value")
        return ("value", item[key]) if key is not None else tuple(sorted(item.items()))
    return item


def _set(container: dict[str, Any], key: str, op: str, value: Any) -> None:
    existing = container.get(key)
    if op == "remove":
        if isinstance(existing, list) and isinstance(value, list):  # Entra: remove members listed in value
            gone = {_identity(v) for v in value}
            container[key] = [it for it in existing if _identity(it) not in gone]
        else:
            container.pop(key, None)
        return
    if isinstance(existing, dict) and isinstance(value, dict):
        merged = dict(existing)
        for k, v in value.items():
            merged[find_key(merged, k) or k] = v
        container[key] = merged
    elif op == "add" and (isinstance(existing, list) or isinstance(value, list)):
        current = list(existing or [])
        seen = {_identity(it) for it in current}
        for item in value if isinstance(value, list) else [value]:
            if _identity(item) not in seen:
                current.append(item)
                seen.add(_identity(item))
        container[key] = current
    else:
        container[key] = value
