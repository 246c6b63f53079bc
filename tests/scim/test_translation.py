"""The translation alone, on plain values (the unit tier): filters into queries, PATCH
and PUT bodies into changes, refusals into SCIM statuses, requests into their parts."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from billing.model import Level
from bot.errors import (
    Conflict,
    InvalidInput,
    LastSuperViolation,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from bot.services.directory import DirectoryUser, UserQuery
from handlers.scim import errors, filters
from handlers.scim.models import Member, RollcallGroup
from handlers.scim.patch import patched_members, patched_user
from handlers.scim.protocol import Request, ScimError

T0 = datetime(2025, 2, 1, tzinfo=UTC)
ADA = DirectoryUser(id=7, email="ada@example.com", first_name="Ada", last_name="Lovelace",
                    external_id="x7", active=True, level=Level.NONE, created=T0,
                    last_modified=T0, version='W/"1"')


def ops(*operations):
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": list(operations)}


@pytest.mark.parametrize(("text", "query"), [
    ('userName eq "Ada@Example.com"', UserQuery(email="Ada@Example.com")),
    ('emails[type eq "work"].value eq "a@b.c"', UserQuery(email="a@b.c")),
    ('emails[value eq "a@b.c"]', UserQuery(email="a@b.c")),
    ('emails.value eq "a@b.c" and active eq false', UserQuery(email="a@b.c", active=False)),
    ('externalId eq "e1" and active eq "True"', UserQuery(external_id="e1", active=True)),
    ('USERNAME EQ "a@b.c" and userName eq "A@B.C"', UserQuery(email="A@B.C")),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a@b.c"', UserQuery(email="a@b.c")),
    ('userName eq "a@b.c" and emails.value eq "z@b.c"', filters.NOTHING),
    ('externalId eq "E1" and externalId eq "e1"', filters.NOTHING),
])
def test_user_filters(text, query):
    assert filters.user_query(text) == query


@pytest.mark.parametrize("text", [
    'userName ne "a"', 'userName sw "a"', "userName pr", 'not (userName eq "a")',
    'userName eq "a" or active eq true', 'displayName eq "x"', "active eq 1",
    'emails[type eq "home"].value eq "a"', 'emails[type eq "work"]', "userName eq null",
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"',
    "", "(", 'userName eq "unterminated',
])
def test_other_user_filters_are_invalid(text):
    with pytest.raises(ScimError) as refused:
        filters.user_query(text)
    assert (refused.value.status, refused.value.scim_type) == (400, "invalidFilter")


def test_group_filters():
    assert filters.group_names('displayName eq "Rollcall SUPER"') == {"rollcall super"}
    assert filters.group_names('displayName eq "A" and displayName eq "B"') == set()
    with pytest.raises(ScimError):
        filters.group_names('members.value eq "7"')


@pytest.mark.parametrize(("operations", "changes"), [
    ([{"op": "Replace", "path": "active", "value": "False"}], {"active": False}),
    ([{"op": "replace", "value": {"active": False}}], {"active": False}),
    ([{"op": "REPLACE", "value": {"name.givenName": "Ana", "displayName": "A"}}],
     {"first_name": "Ana"}),
    ([{"op": "replace", "path": 'emails[type eq "work"].value', "value": "n@example.com"}],
     {"email": "n@example.com"}),
    ([{"op": "add", "path": "emails", "value": [{"value": "n@example.com", "type": "work"}]}],
     {"email": "n@example.com"}),
    ([{"op": "add", "path": "emails", "value": [{"value": "h@example.org", "type": "home"}]}],
     {}),
    ([{"op": "replace", "path": "userName", "value": "u@example.com"},
      {"op": "replace", "path": "emails", "value": [{"value": "e@example.com"}]}],
     {"email": "u@example.com"}),
    ([{"op": "remove", "path": "externalId"}], {"external_id": None}),
    ([{"op": "add", "path": "title", "value": "CEO"},
      {"op": "add", "path": 'phoneNumbers[type eq "work"].value', "value": "555"},
      {"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:"
                                "User:department", "value": "R&D"}], {}),
    ([{"op": "replace", "value": {"active": True, "userName": "ada@example.com"}}], {}),
])
def test_patch_bodies_become_changes(operations, changes):
    assert patched_user(ADA, ops(*operations)) == changes


@pytest.mark.parametrize("operations", [
    [{"op": "remove", "path": "active"}], [{"op": "remove", "path": "userName"}],
    [{"op": "remove"}], [{"op": "move", "path": "active", "value": True}],
    [{"op": "replace", "path": "active", "value": "maybe"}],
    [{"op": "replace", "path": "id", "value": "8"}],
])
def test_patch_bodies_that_are_refused(operations):
    with pytest.raises(Exception) as refused:  # a SCIMException or a ValidationError
        patched_user(ADA, ops(*operations))
    assert errors.from_exception(refused.value).status == 400


def test_group_patches_become_member_changes():
    group = RollcallGroup(id="super", display_name="Rollcall SUPER",
                          members=[Member(value="1", display="a@example.com"),
                                   Member(value="2")])
    okta = ops({"op": "replace", "value": {"id": "super", "displayName": "Rollcall SUPER"}})
    assert patched_members(group, okta) == ([], [])
    assert patched_members(group, ops({"op": "add", "path": "members",
                                       "value": [{"value": "3"}, {"value": "1"}]})) == ([3], [])
    assert patched_members(group, ops({"op": "Remove", "path": "members",
                                       "value": [{"$ref": None, "value": "1"}]})) == ([], [1])
    assert patched_members(group, ops({"op": "remove",
                                       "path": 'members[value eq "2"]'})) == ([], [2])
    assert patched_members(group, ops({"op": "replace", "path": "members",
                                       "value": [{"value": "2"}, {"value": "5"}]})) == ([5], [1])
    for rename in ({"op": "replace", "path": "displayName", "value": "X"},
                   {"op": "replace", "value": {"displayName": "X"}}):
        with pytest.raises(Exception) as renamed:
            patched_members(group, ops(rename))
        assert errors.from_exception(renamed.value).body["scimType"] == "mutability"


@pytest.mark.parametrize(("refusal", "status", "scim_type"), [
    (Unauthenticated("who?"), 401, None), (PermissionDenied("no"), 403, None),
    (NotFound("gone"), 404, None), (Conflict("taken"), 409, "uniqueness"),
    (LastSuperViolation("last"), 409, None), (InvalidInput("bad"), 400, "invalidValue"),
    (Unavailable(), 503, None),
])
def test_refusals_become_scim_errors(refusal, status, scim_type):
    response = errors.from_exception(refusal)
    assert response.status == status and response.body["status"] == str(status)
    assert response.body.get("scimType") == scim_type
    assert response.body["detail"] == str(refusal)
    assert ("WWW-Authenticate" in response.headers) == (status == 401)


def test_an_exception_nobody_meant_is_not_a_refusal():
    assert errors.from_exception(KeyError("bug")) is None


def test_requests_are_read_as_clients_send_them():
    environ = {"REQUEST_METHOD": "get", "PATH_INFO": "/scim/v2/Users/7",
               "QUERY_STRING": "filter=userName+eq+%22a%2Bb%40c.d%22&COUNT=5&count=9",
               "HTTP_HOST": "rollcall.example:8443", "wsgi.url_scheme": "https",
               "CONTENT_TYPE": "application/json; charset=utf-8", "wsgi.input": io.BytesIO()}
    request = Request.from_environ(environ, b'{"a": 1}', "/scim/v2")
    assert (request.method, request.path) == ("GET", ("Users", "7"))
    assert request.query == {"filter": 'userName eq "a+b@c.d"', "count": "5"}
    assert request.base_url == "https://rollcall.example:8443/scim/v2"
    assert request.json() == {"a": 1}
    for body in (b"[]", b"nope", b"\xff"):
        with pytest.raises(ScimError) as refused:
            Request.from_environ(environ, body, "/scim/v2").json()
        assert refused.value.scim_type == "invalidSyntax"
