"""Fuzzed bodies, filters and parameters (Hypothesis) against the real server: whatever
arrives, the answer is never a 5xx, and every refusal is a SCIM error body."""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.scim.conftest import patch_body, user_body

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
ERROR = ["urn:ietf:params:scim:api:messages:2.0:Error"]

KEYS = ["schemas", "userName", "name", "givenName", "familyName", "emails", "value", "type",
        "primary", "active", "externalId", "id", "meta", "displayName", "members",
        "Operations", "op", "path", "title", "$ref",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
           | st.text(max_size=30) | st.sampled_from(
               ["True", "False", "ada@example.com", "x@y", "", "work", "7", "1"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=12), inner, max_size=5), max_leaves=15)
PATHS = st.sampled_from([
    "active", "userName", "name.givenName", "name", "emails", 'emails[type eq "work"].value',
    "externalId", "members", 'members[value eq "1"]', "displayName", "id", "meta.created",
    "urn:ietf:params:scim:schemas:core:2.0:User:userName", "emails[", "x.y.z", ""]) \
    | st.text(max_size=25)
OPERATION = st.fixed_dictionaries({}, optional={
    "op": st.sampled_from(["add", "Replace", "REMOVE", "copy", ""]) | SCALARS,
    "path": PATHS | SCALARS, "value": JSON})
PATCHES = st.builds(lambda o: patch_body(*o), st.lists(OPERATION, max_size=4)) | JSON
USERS = st.builds(lambda extra, email: {**user_body(email), **extra},
                  st.dictionaries(st.sampled_from(KEYS), JSON, max_size=3),
                  st.emails() | st.text(max_size=20)) | JSON
WORDS = st.sampled_from(["userName", "emails.value", 'emails[type eq "work"].value',
                         "externalId", "active", "displayName", "title", "name.givenName",
                         "eq", "ne", "co", "pr", "and", "or", "not", "(", ")", "[", "]",
                         '"a@b.c"', "true", "false", "null", "12", '"', "\\"])
FILTERS = st.lists(WORDS, max_size=8).map(" ".join) | st.text(max_size=40)


def _scim_answer(reply):
    assert reply.status < 500, (reply.status, reply.body)
    if reply.status >= 400:
        assert reply.body["schemas"] == ERROR and reply.body["status"] == str(reply.status)
        assert isinstance(reply.body["detail"], str) and reply.body["detail"]
    elif reply.status != 204 and reply.status != 304:
        assert isinstance(reply.body, dict) and reply.body["schemas"]


def test_fuzzed_user_bodies(scim):
    ada = scim.post("/Users", user_body("ada@example.com")).body["id"]

    @FUZZ
    @given(method=st.sampled_from(["POST", "PUT", "PATCH"]), body=USERS, patch=PATCHES)
    def run(method, body, patch):
        if method == "POST":
            _scim_answer(scim.post("/Users", body))
        elif method == "PUT":
            _scim_answer(scim.put(f"/Users/{ada}", body))
        else:
            _scim_answer(scim.patch(f"/Users/{ada}", patch))

    run()


def test_fuzzed_group_bodies(scim):
    @FUZZ
    @given(method=st.sampled_from(["POST", "PUT", "PATCH"]), body=JSON, patch=PATCHES,
           group=st.sampled_from(["super", "assistant", "view-only"]))
    def run(method, body, patch, group):
        if method == "POST":
            _scim_answer(scim.post("/Groups", body))
        elif method == "PUT":
            _scim_answer(scim.put(f"/Groups/{group}", body))
        else:
            _scim_answer(scim.patch(f"/Groups/{group}", patch))

    run()


def test_fuzzed_filters_and_parameters(scim):
    @FUZZ
    @given(resource=st.sampled_from(["Users", "Groups"]), text=FILTERS,
           plus=st.booleans(), start=st.text(max_size=6) | st.integers().map(str),
           count=st.text(max_size=6) | st.integers().map(str),
           attributes=st.text(max_size=20) | WORDS)
    def run(resource, text, plus, start, count, attributes):
        encoded = quote(text, safe="").replace("%20", "+") if plus else quote(text, safe="")
        query = (f"filter={encoded}&startIndex={quote(start)}&count={quote(count)}"
                 f"&attributes={quote(attributes)}")
        _scim_answer(scim.get(f"/{resource}?{query}"))

    run()


def test_fuzzed_raw_bytes_and_paths(scim):
    @FUZZ
    @given(raw=st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()),
           path=st.sampled_from(["/Users", "/Users/1", "/Groups/super", "/Groups", "/Schemas",
                                 "/Users/%00", "/Users/99999999999999999999", "/.."]),
           method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
           content_type=st.sampled_from(["application/scim+json", "application/json",
                                         "text/plain", "application/scim+json; charset=x"]))
    def run(raw, path, method, content_type):
        reply = scim.call(method, path, raw=raw if method not in ("GET", "DELETE") else None,
                          content_type=content_type)
        _scim_answer(reply)

    run()
