"""SCIM 2.0 domain (RFC 7643/7644), pure: the filter language, PATCH operations, and User/Group resources
validated from and rendered to JSON. No I/O: the router (api/scim.py) reads and writes the store around it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from signwatch.store.base import ScimGroupRecord, ScimUserRecord

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """A refusal in SCIM terms: HTTP status, `scimType` (RFC 7644 §3.12) and detail."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            out["scimType"] = self.scim_type
        return out


# -- filters (RFC 7644 §3.4.2.2) ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Cmp:
    path: tuple[str, ...]
    op: str  # eq ne co sw ew gt ge lt le pr
    value: Any = None


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # and | or | not
    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ValuePath:
    path: tuple[str, ...]
    filter: Node


Node = Cmp | Logic | ValuePath
_TOKENS = re.compile(r'\s*(?:(?P<p>[()\[\]])|(?P<s>"(?:[^"\\]|\\.)*")|(?P<w>[^\s()\[\]"]+))')
_OPS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}
_CASE_EXACT = {("id",), ("externalid",), ("members", "value"), ("groups", "value")}


def split_path(text: str) -> tuple[str, ...]:
    """`name.givenName`, `urn:…:User:userName` or an enterprise attribute → lower-cased segments."""
    low = text.lower()
    for urn in (USER_SCHEMA, GROUP_SCHEMA):
        if low.startswith(urn.lower() + ":"):
            low = low[len(urn) + 1 :]
    if low.startswith(ENTERPRISE.lower() + ":"):
        return (ENTERPRISE.lower(), *low[len(ENTERPRISE) + 1 :].split("."))
    if low == ENTERPRISE.lower():
        return (low,)
    return tuple(low.split("."))


def parse_filter(text: str) -> Node:
    """Parse a SCIM filter; `ScimError(400, invalidFilter)` on anything malformed."""
    tokens: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKENS.match(text, pos)
        if m is None or m.end() == pos:
            raise ScimError(400, f"cannot parse the filter at {text[pos:]!r}", "invalidFilter")
        tokens.append(m.group(0).strip())
        pos = m.end()
    parser = _Parser([tok for tok in tokens if tok])
    node = parser.expr()
    if parser.i != len(parser.tokens):
        raise ScimError(400, f"unexpected {parser.tokens[parser.i]!r} in the filter", "invalidFilter")
    return node


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.i = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok.lower() != expected):
            raise ScimError(400, f"expected {expected or 'more'} in the filter, found {tok!r}", "invalidFilter")
        self.i += 1
        return tok

    def expr(self) -> Node:
        parts = [self.term()]
        while (self.peek() or "").lower() == "or":
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else Logic("or", tuple(parts))

    def term(self) -> Node:
        parts = [self.factor()]
        while (self.peek() or "").lower() == "and":
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else Logic("and", tuple(parts))

    def factor(self) -> Node:
        tok = self.take()
        if tok == "(":
            node = self.expr()
            self.take(")")
            return node
        if tok.lower() == "not" and self.peek() == "(":
            self.take()
            node = self.expr()
            self.take(")")
            return Logic("not", (node,))
        if tok in "()[]" or tok.startswith('"'):
            raise ScimError(400, f"expected an attribute in the filter, found {tok!r}", "invalidFilter")
        path = split_path(tok)
        if self.peek() == "[":
            self.take()
            inner = self.expr()
            self.take("]")
            return ValuePath(path, inner)
        op = self.take().lower()
        if op == "pr":
            return Cmp(path, "pr")
        if op not in _OPS:
            raise ScimError(400, f"unknown filter operator {op!r}", "invalidFilter")
        return Cmp(path, op, _literal(self.take()))


def _literal(tok: str) -> Any:
    if tok.startswith('"'):
        return re.sub(r"\\(.)", r"\1", tok[1:-1])
    low = tok.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    try:
        return float(tok) if "." in tok else int(tok)
    except ValueError:
        raise ScimError(400, f"bad value {tok!r} in the filter", "invalidFilter") from None


def values_at(resource: Any, path: tuple[str, ...]) -> list[Any]:
    """Every value at `path` (case-insensitive keys; multi-valued attributes flattened)."""
    items = resource if isinstance(resource, list) else [resource]
    if not path:
        flat: list[Any] = []
        for it in items:
            flat.append(it.get("value") if isinstance(it, dict) and "value" in it else it)
        return flat
    out: list[Any] = []
    for it in items:
        if isinstance(it, dict):
            key = find_key(it, path[0])
            if key is not None and it[key] is not None:
                out.extend(values_at(it[key], path[1:]))
    return out


def matches(node: Node, resource: dict[str, Any]) -> bool:
    if isinstance(node, Logic):
        if node.op == "not":
            return not matches(node.parts[0], resource)
        results = (matches(p, resource) for p in node.parts)
        return all(results) if node.op == "and" else any(results)
    if isinstance(node, ValuePath):
        elements = values_at(resource, node.path[:-1]) if len(node.path) > 1 else [resource]
        found: list[Any] = []
        for el in elements:
            key = find_key(el, node.path[-1]) if isinstance(el, dict) else None
            if key is not None:
                found.extend(el[key] if isinstance(el[key], list) else [el[key]])
        return any(isinstance(e, dict) and matches(node.filter, e) for e in found)
    found = values_at(resource, node.path)
    if node.op == "pr":
        return any(v not in (None, "", [], {}) for v in found)
    if node.op == "ne":
        return not any(_compare(v, "eq", node.value, node.path) for v in found)
    return any(_compare(v, node.op, node.value, node.path) for v in found)


def _compare(have: Any, op: str, want: Any, path: tuple[str, ...]) -> bool:
    if isinstance(have, bool) or isinstance(want, bool) or want is None:
        return op == "eq" and have == want
    if isinstance(have, str) and isinstance(want, str):
        if path not in _CASE_EXACT:
            have, want = have.lower(), want.lower()
    elif not (isinstance(have, int | float) and isinstance(want, int | float)):
        return False
    if op == "eq":
        return bool(have == want)
    if op in ("co", "sw", "ew"):
        if not isinstance(have, str):
            return False
        return want in have if op == "co" else have.startswith(want) if op == "sw" else have.endswith(want)
    return bool({"gt": have > want, "ge": have >= want, "lt": have < want, "le": have <= want}[op])


def find_key(obj: dict[str, Any], name: str) -> str | None:
    low = name.lower()
    return next((k for k in obj if k.lower() == low), None)


def page(total: int, start_index: int | None, count: int | None, cap: int) -> tuple[int, int]:
    """(first index, 0-based, and how many) for `startIndex`/`count` (RFC 7644 §3.4.2.4)."""
    start = max(start_index or 1, 1)
    n = cap if count is None else max(min(count, cap), 0)
    return start - 1, n


# -- resources -----------------------------------------------------------------------------------------------
def stamp(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def etag(version: int) -> str:
    return f'W/"{version}"'


def if_match_ok(header: str | None, version: int) -> bool:
    """Whether an `If-Match` header (absent, `*`, or a list of ETags) admits the current version."""
    if header is None or header.strip() == "*":
        return True
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return f'"{version}"' in tags


def _meta(kind: str, location: str, created: datetime, modified: datetime, version: int) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "created": stamp(created),
        "lastModified": stamp(modified),
        "location": location,
        "version": etag(version),
    }


def user_resource(rec: ScimUserRecord, base: str) -> dict[str, Any]:
    schemas = [USER_SCHEMA] + ([ENTERPRISE] if ENTERPRISE in rec.attributes else [])
    out: dict[str, Any] = {"schemas": schemas, "id": rec.id}
    if rec.external_id is not None:
        out["externalId"] = rec.external_id
    out["userName"] = rec.user_name
    out.update(rec.attributes)  # `active` among them unless it was never set (or removed)
    if rec.groups:
        out["groups"] = [
            {"value": gid, "display": name, "$ref": f"{base}/Groups/{gid}", "type": "direct"}
            for gid, name in rec.groups
        ]
    out["meta"] = _meta("User", f"{base}/Users/{rec.id}", rec.created_at, rec.updated_at, rec.version)
    return out


def group_resource(rec: ScimGroupRecord, base: str, names: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": rec.id}
    if rec.external_id is not None:
        out["externalId"] = rec.external_id
    out["displayName"] = rec.display_name
    out["members"] = [
        {"value": uid, "display": names.get(uid, uid), "$ref": f"{base}/Users/{uid}", "type": "User"}
        for uid in rec.members
    ]
    out["meta"] = _meta("Group", f"{base}/Groups/{rec.id}", rec.created_at, rec.updated_at, rec.version)
    return out


def project(resource: dict[str, Any], attributes: str | None, excluded: str | None) -> dict[str, Any]:
    """Apply `attributes` / `excludedAttributes` (top-level names); id, schemas and meta always stay."""
    keep = {"schemas", "id", "meta"}
    if attributes:
        wanted = {split_path(a.strip())[0] for a in attributes.split(",") if a.strip()} | keep
        return {k: v for k, v in resource.items() if k.lower() in wanted}
    if excluded:
        drop = {split_path(a.strip())[0] for a in excluded.split(",") if a.strip()} - keep
        return {k: v for k, v in resource.items() if k.lower() not in drop}
    return resource
