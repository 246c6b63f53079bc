"""`rollcall scim token create|list|revoke` (DESIGN section 10): the token printed once,
alone on the last line; exit codes as every other command."""

import hashlib
import json

import pytest
from sqlalchemy import select

from bot.errors import Unauthenticated
from bot.services import directory
from store.models import AuditEvent, ScimToken

SAM = ["--actor", "sam@example.com"]


@pytest.fixture
def org(cli):
    assert cli("init", "--org-name", "Acme", "--admin-email", "sam@example.com",
               "--admin-first-name", "Sam", "--admin-last-name", "Stone").code == 0
    assert cli("users", "add", "--email", "kim@example.com", "--first-name", "Kim",
               "--last-name", "Test", *SAM).code == 0
    return cli


def test_create_prints_the_token_alone_on_the_last_line_once(org, empty_ctx):
    made = org("scim", "token", "create", "--name", "okta", *SAM)
    assert made.code == 0 and made.err == ""
    token = made.out.rstrip("\n").splitlines()[-1]
    assert len(token) >= 43 and " " not in token
    assert made.out.count(token) == 1
    assert directory.authenticate(empty_ctx, token) == "sam@example.com"
    with empty_ctx.uow as uow:
        assert uow.session.scalar(select(ScimToken.token_hash)) == hashlib.sha256(
            token.encode()).hexdigest()
        events = uow.session.scalars(select(AuditEvent)).all()
        assert all(token not in repr((e.reason, e.before, e.after)) for e in events)
    listed = org("scim", "token", "list")
    shown = org("scim", "token", "list", "--json")
    assert token not in listed.out + shown.out


def test_list_shows_names_creators_last_use_and_revocation(org, empty_ctx, clock):
    assert "There are no SCIM tokens" in org("scim", "token", "list").out
    assert json.loads(org("scim", "token", "list", "--json").out) == []
    clock.set("2025-02-03T10:00:00Z")
    token = org("scim", "token", "create", "--name", "okta", *SAM).out.splitlines()[-1]
    clock.set("2025-02-04T11:30:00Z")
    directory.authenticate(empty_ctx, token)
    lines = org("scim", "token", "list").out.splitlines()
    assert lines == ["NAME  CREATED BY       CREATED               LAST USED             REVOKED",
                     "okta  sam@example.com  2025-02-03 10:00 UTC  2025-02-04 11:30 UTC  -"]
    revoked = org("scim", "token", "revoke", "okta", *SAM)
    assert revoked.code == 0 and "revoked" in revoked.out
    [doc] = json.loads(org("scim", "token", "list", "--json").out)
    assert doc == {"name": "okta", "created_by": "sam@example.com",
                   "created_at": "2025-02-03T10:00:00+00:00",
                   "last_used_at": "2025-02-04T11:30:00+00:00",
                   "revoked_at": "2025-02-04T11:30:00+00:00"}
    with pytest.raises(Unauthenticated):
        directory.authenticate(empty_ctx, token)


def test_refusals_exit_1_and_usage_errors_exit_2(org):
    assert org("scim", "token", "create", "--name", "okta", *SAM).code == 0
    taken = org("scim", "token", "create", "--name", "okta", *SAM)
    assert (taken.code, taken.out) == (1, "") and "exists already" in taken.err
    plain = org("scim", "token", "create", "--name", "mine", "--actor", "kim@example.com")
    assert plain.code == 1 and "SUPER admin over all projects" in plain.err
    assert org("scim", "token", "revoke", "nope", *SAM).code == 1
    for argv in (["scim"], ["scim", "token"], ["scim", "token", "create", *SAM],
                 ["scim", "token", "create", "--name", "x"], ["scim", "token", "revoke", *SAM]):
        assert org(*argv).code == 2
