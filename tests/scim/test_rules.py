"""DESIGN §10's rules over real HTTP: deprovisioning and invariant 1, tokens, races."""

from __future__ import annotations

import threading

from billing.model import Level
from bot import services
from bot.services import Via, directory
from bot.services.context import Channels
from tests.helpers import audit, store_state
from tests.scim.conftest import SAM, patch_body, user_body

DEACTIVATE = patch_body({"op": "replace", "path": "active", "value": False})


def _user_id(scim, email):
    found = scim.get(f'/Users?filter=userName eq "{email}"'.replace(" ", "%20"))
    return found.body["Resources"][0]["id"]


def test_deactivating_the_last_super_is_409_and_changes_nothing(scim, ctx):
    sam = _user_id(scim, SAM)
    before, events = store_state(ctx), len(audit(ctx))
    for request in (lambda: scim.patch(f"/Users/{sam}", DEACTIVATE),
                    lambda: scim.put(f"/Users/{sam}", user_body(SAM, "Sam", "Stone",
                                                                active=False)),
                    lambda: scim.delete(f"/Users/{sam}"),
                    lambda: scim.patch("/Groups/super", patch_body(
                        {"op": "remove", "path": f'members[value eq "{sam}"]'}))):
        reply = request()
        assert reply.status == 409, reply.body
        assert reply.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert reply.body["status"] == "409" and "scimType" not in reply.body
        assert "SUPER" in reply.body["detail"]
    assert store_state(ctx) == before
    refused = audit(ctx)[events:]
    assert [(e.action, e.outcome, e.via) for e in refused] == [
        ("user.deactivate", "refused", "scim"), ("user.deactivate", "refused", "scim"),
        ("user.delete", "refused", "scim"), ("admin.remove", "refused", "scim")]
    assert scim.get(f"/Users/{sam}").body["active"] is True


def test_the_refusal_is_posted_to_the_billing_channel(scim, ctx, fake):
    ctx.channels = Channels(billing="C0BILLING")
    sam = _user_id(scim, SAM)
    assert scim.patch(f"/Users/{sam}", DEACTIVATE).status == 409
    post = fake.wait_for("chat.postMessage")[0].params
    assert post["channel"] == "C0BILLING"
    assert "via scim" in post["text"] and "Sam Stone" in post["text"]


def test_deactivating_an_admin_removes_the_grant_in_the_same_step(scim, ctx):
    pat = scim.post("/Users", user_body("pat@example.com", "Pat", "Quinn")).body["id"]
    added = scim.patch("/Groups/assistant", patch_body(
        {"op": "add", "path": "members", "value": [{"value": pat}]}))
    assert added.status == 200
    services.login(ctx, via=Via.CLI, email="pat@example.com")  # the level applies
    assert {a.email: a.level for a in services.list_admins(ctx)}["pat@example.com"] \
        is Level.ASSISTANT

    off = scim.patch(f"/Users/{pat}", DEACTIVATE)
    assert off.status == 200 and off.body["active"] is False
    assert "pat@example.com" not in {a.email for a in services.list_admins(ctx)}
    assert scim.get("/Groups/assistant").body.get("members") is None
    removal, last = audit(ctx)[-2:]  # audited as both (DESIGN section 10)
    assert [(e.action, e.via, e.outcome) for e in (removal, last)] == [
        ("admin.remove", "scim", "ok"), ("user.deactivate", "scim", "ok")]
    assert removal.before["level"] == "assistant" and last.after.get("level") in (None, "none")


def test_a_missing_wrong_or_revoked_token_gets_401(scim, ctx):
    for token in (None, "not-a-token", "x" * 600):
        reply = scim.get("/Users", token=token)
        assert reply.status == 401 and reply.headers["www-authenticate"].startswith("Bearer")
        assert reply.body["status"] == "401"
    basic = scim.get("/Users", token=False, headers={"Authorization": f"Basic {scim.token}"})
    assert basic.status == 401
    assert scim.get("/Users").status == 200
    directory.revoke_token(ctx, actor=SAM, via=Via.CLI, name="identity provider")
    revoked = scim.post("/Users", user_body("new@example.com"))
    assert revoked.status == 401 and "revoked" in revoked.body["detail"]
    assert "new@example.com" not in {u.email for u in services.list_users(ctx)}


def test_a_token_whose_creator_was_demoted_gets_403(scim, ctx):
    services.create_user(ctx, actor=SAM, via=Via.CLI, email="kim@example.com",
                         first_name="Kim", last_name="Lo", projects=[])
    services.set_admin(ctx, actor=SAM, via=Via.CLI, email="kim@example.com",
                       level=Level.SUPER)
    services.login(ctx, via=Via.CLI, email="kim@example.com")
    kims = directory.create_token(ctx, actor="kim@example.com", via=Via.CLI, name="kim's")
    assert scim.get("/Users", token=kims).status == 200
    services.set_admin(ctx, actor=SAM, via=Via.CLI, email="kim@example.com",
                       level=Level.ASSISTANT)
    reply = scim.post("/Users", user_body("new@example.com"), token=kims)
    assert reply.status == 403 and reply.body["status"] == "403"
    assert "new token" in reply.body["detail"]
    assert "new@example.com" not in {u.email for u in services.list_users(ctx)}


def test_two_concurrent_posts_of_one_user_name_give_one_201_and_one_409(scim, ctx):
    for round_ in range(3):
        email = f"twin{round_}@example.com"
        start, replies = threading.Barrier(2), []

        def post(email=email, start=start, replies=replies):
            start.wait()
            replies.append(scim.post("/Users", user_body(email.upper() if replies else email)))

        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(r.status for r in replies) == [201, 409], [r.body for r in replies]
        conflict = next(r for r in replies if r.status == 409)
        assert conflict.body["scimType"] == "uniqueness"
        live = [u for u in services.list_users(ctx) if u.email.lower() == email]
        assert len(live) == 1


def test_delete_is_the_tombstone_and_frees_the_email(scim, ctx):
    first = scim.post("/Users", user_body("ada@example.com", external_id="e1")).body
    assert scim.post("/Users", user_body("ADA@example.com")).status == 409
    assert scim.delete(f"/Users/{first['id']}").status == 204
    assert scim.get(f"/Users/{first['id']}").status == 404
    assert scim.delete(f"/Users/{first['id']}").status == 404
    assert scim.patch(f"/Users/{first['id']}", DEACTIVATE).status == 404
    again = scim.post("/Users", user_body("ada@example.com"))
    assert again.status == 201 and again.body["id"] != first["id"]
    assert audit(ctx)[-2].action == "user.delete" and audit(ctx)[-2].via == "scim"


def test_a_user_created_inactive_is_pending_and_activates(scim, ctx):
    created = scim.post("/Users", user_body("ivy@example.com", active=False))
    assert created.status == 201 and created.body["active"] is False
    assert {u.email: u.status.value for u in services.list_users(ctx)}["ivy@example.com"] \
        == "pending"
    on = scim.patch(f"/Users/{created.body['id']}", patch_body(
        {"op": "replace", "path": "active", "value": True}))
    assert on.body["active"] is True
    assert {u.email: u.status.value for u in services.list_users(ctx)}["ivy@example.com"] \
        == "active"


def test_asking_nothing_new_changes_nothing(scim, ctx):
    user = scim.post("/Users", user_body("noa@example.com", external_id="n1")).body
    events = len(audit(ctx))
    again = scim.patch(f"/Users/{user['id']}", patch_body(
        {"op": "replace", "value": {"active": True, "userName": "noa@example.com",
                                    "displayName": "Noa", "title": "Chef"}}))
    assert again.status == 200 and again.body["meta"]["version"] == user["meta"]["version"]
    put = scim.put(f"/Users/{user['id']}", user_body("noa@example.com", external_id="n1"))
    assert put.body["meta"]["version"] == user["meta"]["version"]
    assert len(audit(ctx)) == events
