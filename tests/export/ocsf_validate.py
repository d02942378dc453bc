"""OCSF 1.8.0 validity of an exported record, read from the compiled schema in shared/ocsf (see its README).

Valid: the class exists; `category_uid` and `type_uid` agree with it; every required attribute of the class
and, recursively, of each object present is there (profile attributes only when the record lists the
profile in `metadata.profiles`); every attribute used exists where it is used (a profile's attribute only
with that profile listed); values have their attribute's type (regex, length, arrays) and enum values are
listed ones, with a `*_name` sibling matching the enum's caption except for Other (99); `time` and every
timestamp are epoch milliseconds; the `at_least_one`/`just_one` constraints of the class and objects hold.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any

import orjson

from tests.helpers import shared_dir

SCHEMA = shared_dir() / "ocsf" / "schema-1.8.0.json"
# The compiled file gives network_endpoint the `_entity` constraint (name or uid); the 1.8.0 source
# (objects/network_endpoint.json) declares this list, which is what the OCSF server checks.
CONSTRAINT_OVERRIDES = {
    "network_endpoint": {
        "at_least_one": [
            "ip",
            "uid",
            "name",
            "hostname",
            "svc_name",
            "instance_uid",
            "interface_uid",
            "interface_name",
        ]
    }
}
MS_RANGE = (946_684_800_000, 4_102_444_800_000)  # 2000-01-01 .. 2100-01-01 in epoch ms
OTHER = "99"


@functools.cache
def schema() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(SCHEMA.read_bytes())
    return data


def class_by_uid(uid: Any) -> dict[str, Any] | None:
    return next((c for c in schema()["classes"].values() if c["uid"] == uid), None)


def validate(record: dict[str, Any]) -> list[str]:
    """Every problem of the record as `path: reason`; empty when the record is valid."""
    errors: list[str] = []
    cls = class_by_uid(record.get("class_uid"))
    if cls is None:
        return [f"class_uid: no class {record.get('class_uid')!r}"]
    category = schema()["categories"][cls["category"]]["uid"]
    if record.get("category_uid") != category:
        errors.append(f"category_uid: {record.get('category_uid')!r}, class {cls['uid']} is in category {category}")
    activity = record.get("activity_id")
    if isinstance(activity, int) and record.get("type_uid") != cls["uid"] * 100 + activity:
        errors.append(f"type_uid: {record.get('type_uid')!r} is not class_uid * 100 + activity_id")
    if not isinstance(record.get("time"), int):
        errors.append("time: not epoch milliseconds")
    meta = record.get("metadata")
    profiles = meta.get("profiles") if isinstance(meta, dict) else None
    profiles = profiles if isinstance(profiles, list) else []
    errors += [
        f"metadata.profiles: {p!r} is not a profile of {cls['name']}" for p in profiles if p not in cls["profiles"]
    ]
    _object(record, cls["attributes"], cls.get("constraints"), "", set(profiles), errors)
    return errors


def _object(
    value: Any, attrs: dict[str, Any], constraints: Any, path: str, profiles: set[str], errors: list[str]
) -> None:
    if not isinstance(value, dict):
        errors.append(f"{path or '.'}: not an object")
        return
    for name, item in value.items():
        spec = attrs.get(name)
        where = f"{path}{name}"
        if spec is None:
            errors.append(f"{where}: no such attribute")
            continue
        if spec.get("profile") and spec["profile"] not in profiles:
            errors.append(f"{where}: belongs to profile {spec['profile']!r}, not listed in metadata.profiles")
        if spec.get("@deprecated"):
            errors.append(f"{where}: deprecated")
        if item is None:
            errors.append(f"{where}: null")
            continue
        if spec.get("is_array"):
            if not isinstance(item, list):
                errors.append(f"{where}: not an array")
                continue
            for i, element in enumerate(item):
                _value(element, spec, f"{where}[{i}]", profiles, errors)
        else:
            _value(item, spec, where, profiles, errors)
        _sibling(value, name, spec, where, errors)
    for name, spec in attrs.items():
        applies = spec.get("profile") is None or spec["profile"] in profiles
        if spec.get("requirement") == "required" and applies and value.get(name) is None:
            errors.append(f"{path}{name}: required attribute missing")
    for kind, names in (constraints or {}).items():
        present = [n for n in names if value.get(n) is not None]
        if kind == "at_least_one" and not present:
            errors.append(f"{path or '.'}: needs at least one of {names}")
        if kind == "just_one" and len(present) != 1:
            errors.append(f"{path or '.'}: needs exactly one of {names}")


def _value(item: Any, spec: dict[str, Any], where: str, profiles: set[str], errors: list[str]) -> None:
    kind = spec["type"]
    types = schema()["types"]
    if kind in types:
        _primitive(item, kind, where, errors)
    elif kind == "object":  # `unmapped` and the like: any object
        if not isinstance(item, dict):
            errors.append(f"{where}: not an object")
    else:
        obj = schema()["objects"][kind]
        constraints = CONSTRAINT_OVERRIDES.get(kind, obj.get("constraints"))
        _object(item, obj["attributes"], constraints, f"{where}.", profiles, errors)
    enum = spec.get("enum")
    if enum and str(item) not in enum:
        errors.append(f"{where}: {item!r} is not one of {sorted(enum)}")


def _primitive(item: Any, kind: str, where: str, errors: list[str]) -> None:
    info = schema()["types"][kind]
    base = info.get("type") or kind
    ok = {
        "string_t": isinstance(item, str),
        "integer_t": isinstance(item, int) and not isinstance(item, bool),
        "long_t": isinstance(item, int) and not isinstance(item, bool),
        "float_t": isinstance(item, int | float) and not isinstance(item, bool),
        "boolean_t": isinstance(item, bool),
        "json_t": True,
    }.get(base, False)
    if not ok:
        errors.append(f"{where}: {item!r} is not {kind}")
        return
    if isinstance(item, str):
        if info.get("max_len") and len(item) > info["max_len"]:
            errors.append(f"{where}: longer than {info['max_len']}")
        if info.get("regex") and not re.search(info["regex"], item):
            errors.append(f"{where}: {item!r} does not match {kind}")
    if kind == "ip_t":
        try:
            ipaddress.ip_address(item)
        except ValueError:
            errors.append(f"{where}: {item!r} is not an IP address")
    if kind == "timestamp_t" and not MS_RANGE[0] <= item < MS_RANGE[1]:
        errors.append(f"{where}: {item!r} is not epoch milliseconds")


def _sibling(value: dict[str, Any], name: str, spec: dict[str, Any], where: str, errors: list[str]) -> None:
    """`activity_name` and the like must be the caption of their id, unless the id is Other (99)."""
    sibling, enum = spec.get("sibling"), spec.get("enum")
    item = value.get(name)
    if not sibling or not enum or sibling not in value or str(item) == OTHER or str(item) not in enum:
        return
    caption = enum[str(item)]["caption"]
    if value[sibling] != caption:
        errors.append(f"{where}: its sibling {sibling} is {value[sibling]!r}, the caption is {caption!r}")
