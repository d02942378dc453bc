"""SCIM domain (auth/scim.py, auth/scim_patch.py): the filter language and PatchOp, pure, no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from signwatch.auth.scim import ENTERPRISE, PATCH_SCHEMA, Cmp, Logic, ScimError, ValuePath, if_match_ok, matches
from signwatch.auth.scim import parse_filter as parse
from signwatch.auth.scim_patch import apply_patch, group_fields, parse_path, user_fields

ADA: dict[str, Any] = {
    "id": "u1",
    "userName": "Ada@Example.com",
    "externalId": "00uA",
    "displayName": "Ada Lovelace",
    "active": True,
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "emails": [{"value": "ada@example.com", "type": "work", "primary": True}, {"value": "a@home.test", "type": "home"}],
    "meta": {"lastModified": "2026-11-20T10:00:00.000Z"},
}


def test_parse_precedence_and_shapes() -> None:
    assert parse('userName eq "a"') == Cmp(("username",), "eq", "a")
    node = parse('a eq 1 or b pr and not (c sw "x")')
    assert node == Logic(
        "or", (Cmp(("a",), "eq", 1), Logic("and", (Cmp(("b",), "pr"), Logic("not", (Cmp(("c",), "sw", "x"),)))))
    )
    assert parse('emails[type eq "work"]') == ValuePath(("emails",), Cmp(("type",), "eq", "work"))
    assert parse(f'{ENTERPRISE.upper()}:department eq "R&D"') == Cmp((ENTERPRISE.lower(), "department"), "eq", "R&D")
    assert parse('urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "x"').path == ("name", "givenname")
    assert parse('displayName eq "say \\"hi\\""').value == 'say "hi"'  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "userName",
        "userName eq",
        'userName xx "a"',
        '(userName eq "a"',
        'userName eq "a" and',
        'emails[type eq "w"',
        "a eq b",
    ],
)
def test_malformed_filters_are_invalid_filter(text: str) -> None:
    with pytest.raises(ScimError) as err:
        parse(text)
    assert err.value.status == 400 and err.value.scim_type == "invalidFilter"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "ada@example.com"', True),  # userName is not case-exact
        ('externalId eq "00ua"', False),  # externalId is
        ('userName co "example"', True),
        ('userName sw "ADA@"', True),
        ('userName ew ".org"', False),
        ('emails.value eq "a@home.test"', True),
        ('emails eq "ada@example.com"', True),  # a multi-valued attribute compares by its value
        ('emails[type eq "home" and value co "home"]', True),
        ('emails[type eq "work" and value co "home"]', False),
        ("active eq true", True),
        ("active eq false", False),
        ('name.familyName eq "lovelace" and not (displayName pr)', False),
        ('title pr or name.givenName eq "Ada"', True),
        ('userName ne "ada@example.com"', False),
        ('meta.lastModified gt "2026-11-01T00:00:00Z"', True),
        ('meta.lastModified lt "2026-11-01T00:00:00Z"', False),
        ('nickName eq "x"', False),
    ],
)
def test_filter_evaluation(text: str, expected: bool) -> None:
    assert matches(parse(text), ADA) is expected


def test_group_member_filter() -> None:
    group = {"displayName": "Ops", "members": [{"value": "u1"}, {"value": "u2"}]}
    assert matches(parse('members.value eq "u2"'), group)
    assert not matches(parse('members.value eq "U2"'), group)  # ids are case-exact
    assert matches(parse('members[value eq "u1"]'), group)


def op(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(ops)}


def test_patch_entra_and_okta_dialects() -> None:
    out = apply_patch(ADA, op({"op": "Replace", "path": "active", "value": "False"}))
    assert user_fields(out).active is False
    okta = apply_patch(ADA, op({"op": "replace", "value": {"active": False, "name": {"givenName": "A."}}}))
    assert user_fields(okta).active is False and okta["name"] == {"givenName": "A.", "familyName": "Lovelace"}
    dotted = apply_patch(
        ADA, op({"op": "Add", "value": {"name.familyName": "Byron", f"{ENTERPRISE}:department": "R&D"}})
    )
    assert dotted["name"]["familyName"] == "Byron" and dotted[ENTERPRISE] == {"department": "R&D"}
    assert ADA["name"]["familyName"] == "Lovelace"  # the input is not modified


def test_patch_multi_valued_paths() -> None:
    work = apply_patch(ADA, op({"op": "replace", "path": 'emails[type eq "work"].value', "value": "ada@new.test"}))
    assert [e["value"] for e in work["emails"]] == ["ada@new.test", "a@home.test"]
    added = apply_patch(ADA, op({"op": "add", "path": 'emails[type eq "other"].value', "value": "x@o.test"}))
    assert added["emails"][-1] == {"type": "other", "value": "x@o.test"}
    gone = apply_patch(ADA, op({"op": "remove", "path": 'emails[type eq "home"]'}))
    assert [e["type"] for e in gone["emails"]] == ["work"]
    with pytest.raises(ScimError) as err:
        apply_patch(ADA, op({"op": "replace", "path": 'emails[type eq "fax"]', "value": {"value": "x"}}))
    assert err.value.scim_type == "noTarget"


def test_patch_group_members() -> None:
    group = {"displayName": "Ops", "members": [{"value": "u1", "display": "Ada"}, {"value": "u2"}]}
    add = apply_patch(group, op({"op": "add", "path": "members", "value": [{"value": "u2"}, {"value": "u3"}]}))
    assert group_fields(add).members == ("u1", "u2", "u3")
    rm = apply_patch(group, op({"op": "remove", "path": 'members[value eq "u1"]'}))
    assert group_fields(rm).members == ("u2",)
    entra = apply_patch(group, op({"op": "Remove", "path": "members", "value": [{"value": "u2"}]}))
    assert group_fields(entra).members == ("u1",)
    everyone = apply_patch(group, op({"op": "remove", "path": "members"}))
    assert group_fields(everyone).members == ()
    renamed = apply_patch(group, op({"op": "replace", "value": {"displayName": "SecOps"}}))
    assert group_fields(renamed).display_name == "SecOps"


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"Operations": [{"op": "add", "path": "title", "value": "x"}]}, "invalidSyntax"),  # no schemas
        (op({"op": "move", "path": "title"}), "invalidSyntax"),
        (op({"op": "remove"}), "noTarget"),
        (op({"op": "replace", "path": "id", "value": "x"}), "mutability"),
        (op({"op": "replace", "path": "title[", "value": "x"}), "invalidPath"),
        (op({"op": "add", "value": "not an object"}), "invalidValue"),
    ],
)
def test_patch_errors(body: dict[str, Any], scim_type: str) -> None:
    with pytest.raises(ScimError) as err:
        apply_patch(ADA, body)
    assert err.value.status == 400 and err.value.scim_type == scim_type


def test_user_fields_validate_and_canonicalise() -> None:
    fields = user_fields(
        {"USERNAME": "bob", "Active": "true", "EMAILS": [{"value": "b@x", "primary": "True"}], "id": "x"}
    )
    assert fields.user_name == "bob" and fields.active is True
    assert fields.attributes == {"active": True, "emails": [{"value": "b@x", "primary": True}]}
    for bad in ({}, {"userName": " "}, {"userName": "b", "active": "maybe"}, {"userName": "b", "emails": "x"}):
        with pytest.raises(ScimError):
            user_fields(bad)


def test_paths_and_etags() -> None:
    assert parse_path("name.givenName").sub == "givenName"
    assert parse_path('urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value').attr == "emails"
    assert parse_path(f"{ENTERPRISE}:manager.value").extension
    assert if_match_ok(None, 3) and if_match_ok("*", 3) and if_match_ok('W/"3"', 3) and if_match_ok('"1", W/"3"', 3)
    assert not if_match_ok('W/"2"', 3)
