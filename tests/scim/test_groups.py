"""The three groups (DESIGN §10 "Groups") on what scim2-tester cannot exercise: they
exist already, are never created, renamed or deleted, and their members are admins."""

from __future__ import annotations

from billing.model import Level
from bot import services
from bot.services import Via
from tests.helpers import store_state
from tests.scim.conftest import SAM, patch_body, user_body

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _levels(ctx):
    return {a.email: a.level for a in services.list_admins(ctx)}


def _members(reply):
    return [m["value"] for m in reply.body.get("members", [])]


def test_the_three_groups_and_their_members(scim):
    listed = scim.get("/Groups").body
    assert [(g["id"], g["displayName"]) for g in listed["Resources"]] == [
        ("super", "Rollcall SUPER"), ("assistant", "Rollcall ASSISTANT"),
        ("view-only", "Rollcall VIEW ONLY")]
    sam = scim.get("/Users").body["Resources"][0]
    supers = scim.get("/Groups/super")
    assert supers.body["members"] == [{"value": sam["id"], "display": SAM,
                                       "$ref": sam["meta"]["location"]}]
    assert supers.headers["etag"] == supers.body["meta"]["version"]
    assert supers.body["meta"]["location"] == f"{scim.url}/Groups/super"
    named = scim.get('/Groups?filter=displayName+eq+"rollcall+super"').body
    assert [g["id"] for g in named["Resources"]] == ["super"]
    assert scim.get('/Groups?filter=displayName+eq+"Admins"').body["totalResults"] == 0
    assert "members" not in scim.get("/Groups/super?attributes=displayName").body
    assert scim.get("/Groups?startIndex=3&count=5").body["Resources"][0]["id"] == "view-only"


def test_groups_are_never_created_renamed_or_deleted(scim, ctx):
    before = store_state(ctx)
    taken = scim.post("/Groups", {"schemas": [GROUP], "displayName": "rollcall super"})
    assert taken.status == 409 and taken.body["scimType"] == "uniqueness"
    other = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Engineering"})
    assert other.status == 400 and "Rollcall ASSISTANT" in other.body["detail"]
    renamed = scim.patch("/Groups/super", patch_body(
        {"op": "replace", "path": "displayName", "value": "Admins"}))
    assert renamed.status == 400 and renamed.body["scimType"] == "mutability"
    renamed = scim.patch("/Groups/super", patch_body(
        {"op": "replace", "value": {"displayName": "Admins"}}))
    assert renamed.status == 400
    put = scim.put("/Groups/super", {"schemas": [GROUP], "displayName": "Admins"})
    assert put.status == 400 and put.body["scimType"] == "mutability"
    deleted = scim.delete("/Groups/super")
    assert deleted.status == 405 and deleted.headers["allow"] == "GET, PUT, PATCH"
    assert deleted.body["status"] == "405"
    assert store_state(ctx) == before


def test_members_added_replaced_and_removed(scim, ctx):
    ids = [scim.post("/Users", user_body(f"m{i}@example.com")).body["id"] for i in range(3)]
    added = scim.patch("/Groups/view-only", patch_body(
        {"op": "add", "path": "members", "value": [{"value": ids[0]}, {"value": ids[1]}]}))
    assert _members(added) == ids[:2]
    assert _levels(ctx)["m0@example.com"] is Level.VIEW_ONLY
    again = scim.patch("/Groups/view-only", patch_body(
        {"op": "add", "path": "members", "value": [{"value": ids[0]}]}))
    assert again.body["meta"]["version"] == added.body["meta"]["version"]  # nothing new
    replaced = scim.patch("/Groups/view-only", patch_body(
        {"op": "replace", "path": "members", "value": [{"value": ids[2]}]}))
    assert _members(replaced) == [ids[2]]
    assert "m0@example.com" not in _levels(ctx)
    put = scim.put("/Groups/view-only", {"schemas": [GROUP], "displayName": "Rollcall VIEW ONLY",
                                         "members": [{"value": ids[0]}, {"value": ids[1]}]})
    assert put.status == 200 and _members(put) == ids[:2]
    moved = scim.patch("/Groups/assistant", patch_body(
        {"op": "add", "path": "members", "value": [{"value": ids[0]}]}))
    assert _members(moved) == [ids[0]]
    assert _levels(ctx)["m0@example.com"] is Level.ASSISTANT
    assert _members(scim.get("/Groups/view-only")) == [ids[1]]
    cleared = scim.patch("/Groups/view-only", patch_body({"op": "remove", "path": "members"}))
    assert cleared.status == 200 and _members(cleared) == []


def test_unknown_members_and_the_last_super(scim, ctx):
    before = store_state(ctx)
    for value in ("999999", "abc", "²"):
        reply = scim.patch("/Groups/assistant", patch_body(
            {"op": "add", "path": "members", "value": [{"value": value}]}))
        assert reply.status == 404, reply.body
    sam = scim.get("/Groups/super").body["members"][0]["value"]
    moved = scim.patch("/Groups/assistant", patch_body(
        {"op": "add", "path": "members", "value": [{"value": sam}]}))
    assert moved.status == 409 and "SUPER" in moved.body["detail"]
    emptied = scim.put("/Groups/super", {"schemas": [GROUP], "displayName": "Rollcall SUPER",
                                         "members": []})
    assert emptied.status == 409
    assert store_state(ctx) == before
    assert _levels(ctx)[SAM] is Level.SUPER


def test_a_new_super_member_is_pending_until_their_login(scim, ctx):
    uid = scim.post("/Users", user_body("nia@example.com")).body["id"]
    scim.patch("/Groups/super", patch_body(
        {"op": "add", "path": "members", "value": [{"value": uid}]}))
    nia = next(a for a in services.list_admins(ctx) if a.email == "nia@example.com")
    assert nia.level is Level.SUPER and nia.effective_level is not Level.SUPER
    services.login(ctx, via=Via.CLI, email="nia@example.com")
    handed_over = scim.put("/Groups/super", {"schemas": [GROUP],
                                             "displayName": "Rollcall SUPER",
                                             "members": [{"value": uid}]})
    # made; the token's creator is no longer an admin, so the answer carries no group
    assert handed_over.status == 204, handed_over.body
    assert _levels(ctx)[SAM] is Level.NONE and _levels(ctx)["nia@example.com"] is Level.SUPER
    assert scim.get("/Groups/super").status == 403
