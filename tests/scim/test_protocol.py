"""The HTTP side over real HTTP: discovery, content types, error bodies, filters and
their encodings, paging, attributes, ETags, limits."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from bot.services import directory
from tests.scim.conftest import patch_body, user_body
from tests.slack.harness import raw_post

ERROR = ["urn:ietf:params:scim:api:messages:2.0:Error"]


def _is_error(reply, status, scim_type=None):
    assert reply.status == status, reply.body
    assert reply.body["schemas"] == ERROR and reply.body["status"] == str(status)
    assert reply.body.get("scimType") == scim_type and reply.body["detail"]
    assert reply.headers["content-type"] == "application/scim+json"


def test_discovery_declares_exactly_what_is_supported(scim):
    config = scim.get("/ServiceProviderConfig").body
    assert config["patch"] == {"supported": True}
    assert config["filter"] == {"supported": True, "maxResults": directory.MAX_COUNT}
    assert config["bulk"]["supported"] is False and config["sort"]["supported"] is False
    assert config["etag"] == {"supported": True}
    assert config["changePassword"] == {"supported": False}
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = scim.get("/ResourceTypes").body
    assert {t["id"]: t["endpoint"] for t in types["Resources"]} == {"User": "/Users",
                                                                    "Group": "/Groups"}
    assert scim.get("/ResourceTypes/User").body["schema"] == \
        "urn:ietf:params:scim:schemas:core:2.0:User"
    schemas = {s["id"]: s for s in scim.get("/Schemas").body["Resources"]}
    user = schemas["urn:ietf:params:scim:schemas:core:2.0:User"]
    assert [a["name"] for a in user["attributes"]] == ["userName", "name", "emails", "active"]
    assert scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group").status == 200
    _is_error(scim.get("/Schemas/urn:nope"), 404)
    _is_error(scim.post("/ServiceProviderConfig", {}), 405)
    assert scim.delete("/Schemas").headers["allow"] == "GET"


@pytest.mark.parametrize(("path", "status"), [
    ("/Nope", 404), ("/Users/abc", 404), ("/Users/99999", 404), ("/Users/1/x", 404),
    ("/Groups/nope", 404), ("/Bulk", 501), ("/Me", 501), ("/Users/.search", 501), ("", 404),
])
def test_unknown_and_unsupported_paths(scim, path, status):
    _is_error(scim.get(path) if status != 501 else scim.post(path, {}), status)


def test_bodies_that_cannot_be_read(scim):
    _is_error(scim.post("/Users", raw=b"{not json"), 400, "invalidSyntax")
    _is_error(scim.post("/Users", raw=b"\xff\xfe"), 400, "invalidSyntax")
    _is_error(scim.post("/Users", [1, 2]), 400, "invalidSyntax")
    _is_error(scim.post("/Users", raw=b"[" * 100_000), 400, "invalidSyntax")
    _is_error(scim.post("/Users", user_body("a@example.com", schemas=["urn:x:Nope"])), 400,
              "invalidSyntax")
    _is_error(scim.post("/Users", user_body("a@example.com"), content_type="text/plain"), 415)
    _is_error(scim.patch("/Users/1", {"schemas": ["urn:x"], "Operations": []}), 400,
              "invalidSyntax")
    # a body over the cap: the next test (answered from its length alone, unread)


def test_a_body_over_the_cap_is_refused_from_its_length_alone(scim, server):
    reply = raw_post(server + "/scim/v2/Users", [
        ("Authorization", f"Bearer {scim.token}"), ("Content-Type", "application/scim+json"),
        ("Content-Length", str(50 * 1024 * 1024))])
    assert reply.status == 413 and '"status": "413"' in reply.body


def test_values_rollcall_refuses(scim):
    _is_error(scim.post("/Users", user_body("not-an-email")), 400, "invalidValue")
    body = user_body("b@example.com")
    del body["name"]["familyName"]
    _is_error(scim.post("/Users", body), 400, "invalidValue")
    _is_error(scim.post("/Users", user_body("c@example.com", first="x" * 101)), 400,
              "invalidValue")
    _is_error(scim.post("/Users", user_body("d@example.com", first="\u202eevil")), 400,
              "invalidValue")
    _is_error(scim.post("/Users", {**user_body("e@example.com"), "userName": 42}), 400,
              "invalidValue")


def test_application_json_is_accepted(scim):
    reply = scim.post("/Users", user_body("json@example.com"), content_type="application/json")
    assert reply.status == 201


def test_patch_paths_and_removals(scim):
    uid = scim.post("/Users", user_body("pp@example.com", external_id="x1")).body["id"]
    _is_error(scim.patch(f"/Users/{uid}", patch_body({"op": "remove", "path": "active"})),
              400, "mutability")
    _is_error(scim.patch(f"/Users/{uid}", patch_body(
        {"op": "remove", "path": "name.givenName"})), 400, "mutability")
    _is_error(scim.patch(f"/Users/{uid}", patch_body({"op": "remove"})), 400, "noTarget")
    _is_error(scim.patch(f"/Users/{uid}", patch_body({"op": "jump", "path": "active",
                                                      "value": True})), 400, "invalidValue")
    _is_error(scim.patch(f"/Users/{uid}", patch_body(
        {"op": "replace", "path": "name.givenName", "value": ""})), 400, "invalidValue")
    removed = scim.patch(f"/Users/{uid}", patch_body({"op": "remove", "path": "externalId"},
                                                     {"op": "add", "path": "nickName",
                                                      "value": "P"}))
    assert removed.status == 200 and "externalId" not in removed.body
    home = scim.patch(f"/Users/{uid}", patch_body(
        {"op": "add", "path": "emails", "value": [{"value": "home@example.org",
                                                   "type": "home"}]}))
    assert home.body["userName"] == "pp@example.com"  # a home address is not kept
    both = scim.patch(f"/Users/{uid}", patch_body(
        {"op": "replace", "value": {"name.givenName": "Pia", "externalId": "x2",
                                    "emails": [{"value": "pia@example.com", "type": "work"}]}}))
    assert (both.body["name"]["givenName"], both.body["externalId"], both.body["userName"]) \
        == ("Pia", "x2", "pia@example.com")


def test_filters_and_their_encodings(scim):
    a = scim.post("/Users", user_body("fa@example.com", external_id="A1")).body["id"]
    b = scim.post("/Users", user_body("fb@example.com", external_id="B1",
                                      active=False)).body["id"]

    def ids(query):
        reply = scim.get("/Users?filter=" + query)
        assert reply.status == 200, reply.body
        assert reply.body["totalResults"] == len(reply.body.get("Resources", []))
        return [u["id"] for u in reply.body.get("Resources", [])]

    assert ids('userName%20eq%20%22FA%40example.com%22') == [a]
    assert ids('userName+eq+"fa@example.com"') == [a]
    assert ids('emails.value eq "fb@example.com"'.replace(" ", "%20")) == [b]
    assert ids('emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22fb%40example.com%22') == [b]
    assert ids('externalId+eq+"B1"') == [b]
    assert ids('externalId+eq+"b1"') == []  # externalId is case-exact
    assert ids('active+eq+false') == [b]
    assert ids('active+eq+true+and+externalId+eq+"A1"') == [a]
    assert ids('userName+eq+"fa@example.com"+and+userName+eq+"fb@example.com"') == []
    assert ids('userName+eq+"nobody@example.com"') == []
    for bad in ('userName+co+"fa"', 'userName+eq+"a"+or+userName+eq+"b"', "userName+pr",
                'not+(userName+eq+"a")', 'title+eq+"x"', 'userName+eq+12', "((",
                'emails[type+eq+"home"].value+eq+"x"', 'meta.created+gt+"2020-01-01"'):
        _is_error(scim.get("/Users?filter=" + bad), 400, "invalidFilter")
    _is_error(scim.get('/Groups?filter=id+eq+"super"'), 400, "invalidFilter")


def test_paging_is_stable_with_an_exact_total(scim):
    made = [scim.post("/Users", user_body(f"p{i}@example.com")).body["id"] for i in range(5)]
    everyone = scim.get("/Users").body
    assert everyone["totalResults"] == 6 and everyone["startIndex"] == 1
    page = scim.get("/Users?startIndex=2&count=2").body
    assert page["totalResults"] == 6 and page["itemsPerPage"] == 2
    assert [u["id"] for u in page["Resources"]] == made[:2]
    assert scim.get("/Users?count=0").body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 6,
        "startIndex": 1, "itemsPerPage": 0, "Resources": []}
    assert scim.get("/Users?startIndex=-4&count=1").body["Resources"][0]["id"] != made[0]
    assert scim.get("/Users?startIndex=99").body["itemsPerPage"] == 0
    _is_error(scim.get("/Users?count=lots"), 400, "invalidValue")
    for bad in ("1.5", "--5", "٣", "1e3", "9" * 13):
        _is_error(scim.get(f"/Users?startIndex={quote(bad)}"), 400, "invalidValue")


def test_attributes_and_excluded_attributes(scim):
    uid = scim.post("/Users", user_body("attr@example.com", external_id="z")).body["id"]
    only = scim.get(f"/Users/{uid}?attributes=userName").body
    assert set(only) == {"schemas", "id", "userName"}
    without = scim.get(f"/Users/{uid}?excludedAttributes=emails,name").body
    assert "emails" not in without and "name" not in without and without["externalId"] == "z"
    listed = scim.get("/Users?attributes=externalId&filter=externalId+eq+%22z%22").body
    assert listed["Resources"] == [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                    "id": uid, "externalId": "z"}]
    _is_error(scim.get(f"/Users/{uid}?attributes=userName&excludedAttributes=name"), 400,
              "invalidValue")


def test_etags(scim):
    created = scim.post("/Users", user_body("tag@example.com"))
    uid, version = created.body["id"], created.headers["etag"]
    same = scim.get(f"/Users/{uid}", headers={"If-None-Match": version})
    assert same.status == 304 and same.headers["etag"] == version
    changed = scim.patch(f"/Users/{uid}", patch_body(
        {"op": "replace", "path": "name.givenName", "value": "Tag"}),
        headers={"If-Match": version})
    assert changed.status == 200 and changed.headers["etag"] != version
    _is_error(scim.patch(f"/Users/{uid}", patch_body(
        {"op": "replace", "path": "name.givenName", "value": "Old"}),
        headers={"If-Match": version}), 412)
    _is_error(scim.delete(f"/Users/{uid}", headers={"If-Match": version}), 412)
    assert scim.get(f"/Users/{uid}", headers={"If-None-Match": version}).status == 200
    assert scim.delete(f"/Users/{uid}", headers={"If-Match": changed.headers["etag"]}
                       ).status == 204


def test_an_unexpected_failure_is_logged_and_answered_500_with_a_scim_body(
        scim, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug nobody meant")

    monkeypatch.setattr(directory, "find_users", broken)  # the one stand-in: a bug
    with caplog.at_level("ERROR", logger="rollcall.scim"):
        reply = scim.get("/Users")
    _is_error(reply, 500)
    assert "bug" not in reply.body["detail"] and "Traceback" not in reply.body["detail"]
    assert "a bug nobody meant" in caplog.text
