"""The request sequences Okta and Microsoft Entra ID publish for their SCIM 2.0
provisioning, replayed against the real server: Okta's "SCIM 2.0 protocol reference"
(create after a `userName eq` look-up, PUT, PATCH `active` false with no path, group push
with its re-sent `id`/`displayName`, member add and remove) and Entra ID's "Develop and
plan provisioning for a SCIM endpoint" (enterprise extension, `"op": "Replace"`,
`"value": "False"`, `emails[type eq "work"].value`, members added and removed with
`"op": "Add"`/`"Remove"` and `"$ref": null`). The request bodies keep the published
shapes; the values are email-shaped, since Rollcall's userName is the email."""

from __future__ import annotations

from urllib.parse import quote

from billing.model import Level
from bot import services
from tests.helpers import audit
from tests.scim.conftest import SAM, patch_body

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _level(ctx, email):
    return {a.email: a.level for a in services.list_admins(ctx)}.get(email, Level.NONE)


def _status(ctx, email):
    return {u.email: u.status.value for u in services.list_users(ctx)}[email]


def test_okta_user_lifecycle(scim, ctx):
    # Okta looks the user up first (its filter percent-encoded), then creates them
    look = scim.get("/Users?filter=" + quote('userName eq "test.user@example.com"')
                    + "&startIndex=1&count=100")
    assert look.status == 200
    assert look.body["totalResults"] == 0 and not look.body.get("Resources")
    created = scim.post("/Users", {
        "schemas": [USER], "userName": "test.user@example.com",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@example.com", "type": "work"}],
        "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [], "password": "1mz050nq", "active": True})
    assert created.status == 201, created.body
    user = created.body
    assert created.headers["content-type"] == "application/scim+json"
    assert created.headers["location"] == user["meta"]["location"] \
        == f"{scim.url}/Users/{user['id']}"
    assert created.headers["etag"] == user["meta"]["version"]
    assert user["userName"] == "test.user@example.com" and user["active"] is True
    assert user["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert "displayName" not in user and "password" not in user
    assert audit(ctx)[-1].via == "scim" and audit(ctx)[-1].action == "user.create"

    found = scim.get("/Users?filter=userName%20eq%20%22TEST.USER%40example.com%22")
    assert [u["id"] for u in found.body["Resources"]] == [user["id"]]
    assert scim.get(f"/Users/{user['id']}").body["name"] == {"givenName": "Test",
                                                           "familyName": "User"}

    # Okta's profile update: a PUT of the whole user, with attributes Rollcall ignores
    put = scim.put(f"/Users/{user['id']}", {
        "schemas": [USER], "id": user["id"], "userName": "test.user@example.com",
        "name": {"givenName": "Another", "middleName": "Middle", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@example.com", "type": "work"}],
        "active": True, "groups": [], "meta": {"resourceType": "User"}})
    assert put.status == 200, put.body
    assert put.body["name"]["givenName"] == "Another"
    assert put.body["externalId"] == "00ujl29u0le5T6Aj10h7"  # not asserted: kept
    assert put.body["meta"]["version"] != user["meta"]["version"]

    # Okta deactivates with a PATCH without path
    off = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "replace", "value": {"active": False}}))
    assert off.status == 200 and off.body["active"] is False
    assert _status(ctx, "test.user@example.com") == "deactivated"
    back = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "replace", "value": {"active": True}}))
    assert back.body["active"] is True
    assert _status(ctx, "test.user@example.com") == "active"


def test_okta_group_push(scim, ctx):
    user = scim.post("/Users", {
        "schemas": [USER], "userName": "lee@example.com", "active": True,
        "name": {"givenName": "Lee", "familyName": "Park"},
        "emails": [{"primary": True, "value": "lee@example.com", "type": "work"}]}).body
    # Okta links a pushed group by name: creating it answers 409, the look-up finds it
    pushed = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Rollcall ASSISTANT",
                                   "members": []})
    assert pushed.status == 409 and pushed.body["scimType"] == "uniqueness"
    assert "assistant" in pushed.body["detail"]
    listed = scim.get("/Groups?filter=" + quote('displayName eq "Rollcall ASSISTANT"')
                      + "&startIndex=1&count=100")
    assert [g["id"] for g in listed.body["Resources"]] == ["assistant"]
    bare = scim.get("/Groups?excludedAttributes=members&startIndex=1&count=100")
    assert bare.body["totalResults"] == 3
    assert all("members" not in g for g in bare.body["Resources"])

    # Okta re-sends the group's id and name, then adds the member
    same = scim.patch("/Groups/assistant", patch_body(
        {"op": "replace", "value": {"id": "assistant", "displayName": "Rollcall ASSISTANT"}}))
    assert same.status in (200, 204)
    assert not [e for e in audit(ctx) if e.action.startswith("admin.")]
    added = scim.patch("/Groups/assistant", patch_body(
        {"op": "add", "path": "members",
         "value": [{"value": user["id"], "display": "lee@example.com"}]}))
    assert added.status == 200, added.body
    assert [m["value"] for m in added.body["members"]] == [user["id"]]
    assert _level(ctx, "lee@example.com") is Level.ASSISTANT
    assert audit(ctx)[-1].via == "scim"

    removed = scim.patch("/Groups/assistant", patch_body(
        {"op": "remove", "path": f'members[value eq "{user["id"]}"]'}))
    assert removed.status == 200 and not removed.body.get("members")
    assert _level(ctx, "lee@example.com") is Level.NONE


def test_entra_user_lifecycle(scim, ctx):
    # Entra's connection test: a user that does not exist is an empty list
    missing = scim.get('/Users?filter=userName+eq+"non-existent-user@contoso.example"')
    assert missing.status == 200 and missing.body["totalResults"] == 0
    created = scim.post("/Users", {
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee@contoso.example", "active": True,
        "emails": [{"primary": True, "type": "work",
                    "value": "Test_User_ab6490ee@contoso.example"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName",
                 "givenName": "givenName"},
        "roles": [], ENTERPRISE: {"department": "Finance", "manager": {"value": "xyz"}}})
    assert created.status == 201, created.body
    uid = created.body["id"]
    assert ENTERPRISE not in created.body

    by_name = scim.get('/Users?filter=userName+eq+"Test_User_ab6490ee@contoso.example"')
    assert by_name.body["totalResults"] == 1
    by_external = scim.get('/Users?filter=externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"'
                           .replace(" ", "%20").replace('"', "%22"))
    assert [u["id"] for u in by_external.body["Resources"]] == [uid]

    multi = scim.patch(f"/Users/{uid}", patch_body(
        {"op": "Replace", "path": 'emails[type eq "work"].value',
         "value": "updatedEmail@contoso.example"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
        {"op": "Add", "path": "title", "value": "Accountant"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Sales"}))
    assert multi.status == 200, multi.body
    assert multi.body["userName"] == "updatedEmail@contoso.example"
    assert multi.body["emails"] == [{"value": "updatedEmail@contoso.example", "type": "work",
                                     "primary": True}]
    assert multi.body["name"]["familyName"] == "updatedFamilyName"

    single = scim.patch(f"/Users/{uid}", patch_body(
        {"op": "Replace", "path": "userName", "value": "5b50642d@contoso.example"}))
    assert single.body["userName"] == "5b50642d@contoso.example"

    # Entra disables with a capitalised op and a string boolean
    disabled = scim.patch(f"/Users/{uid}", patch_body(
        {"op": "Replace", "path": "active", "value": "False"}))
    assert disabled.status == 200 and disabled.body["active"] is False
    assert _status(ctx, "5b50642d@contoso.example") == "deactivated"
    assert scim.get(f"/Users/{uid}").body["active"] is False

    assert scim.delete(f"/Users/{uid}").status == 204
    assert scim.get(f"/Users/{uid}").status == 404
    assert scim.get('/Users?filter=userName eq "5b50642d@contoso.example"'.replace(" ", "+")
                    ).body["totalResults"] == 0


def test_entra_group_membership(scim, ctx):
    uid = scim.post("/Users", {
        "schemas": [USER], "userName": "pat@contoso.example", "active": True,
        "name": {"givenName": "Pat", "familyName": "Lee"}}).body["id"]
    created = scim.post("/Groups", {
        "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Finance",
        "meta": {"resourceType": "Group"}})
    assert created.status == 400 and created.body["scimType"] == "invalidValue"
    assert "Rollcall VIEW ONLY" in created.body["detail"]
    found = scim.get("/Groups?excludedAttributes=members"
                     '&filter=displayName+eq+"Rollcall+VIEW+ONLY"')
    assert [g["id"] for g in found.body["Resources"]] == ["view-only"]

    added = scim.patch("/Groups/view-only", patch_body(
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": uid}]}))
    assert added.status == 200, added.body
    assert _level(ctx, "pat@contoso.example") is Level.VIEW_ONLY
    one = scim.get("/Groups/view-only?excludedAttributes=members")
    assert one.status == 200 and "members" not in one.body

    removed = scim.patch("/Groups/view-only", patch_body(
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": uid}]}))
    assert removed.status == 200 and not removed.body.get("members")
    assert _level(ctx, "pat@contoso.example") is Level.NONE
    assert _level(ctx, SAM) is Level.SUPER
