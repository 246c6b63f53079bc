"""The command line's missing views (issue 11): `projects list`, `billing settings`,
`admins scheduled` / `admins cancel` and the SCHEDULED mark of `admins list`, `users list
--status all|deleted` with the organization's active total, and tables that stay aligned
with wide characters. Black-box: the `rollcall` command in-process (`cli`) and as a real
process."""

from __future__ import annotations

import json

import pytest
from wcwidth import width

from tests.helpers import audit, rollcall_process, store_state

SAM = ["--actor", "sam@example.com"]
SUE = ["--actor", "sue@example.com"]  # a SUPER over alpha only
PAT = ["--actor", "pat@example.com"]  # an ASSISTANT over all projects
VIC = ["--actor", "vic@example.com"]  # VIEW ONLY over alpha
LEE = ["--actor", "lee@example.com"]  # no admin role


def ok(result):
    assert result.code == 0, result
    assert "Traceback" not in result.out + result.err
    return result.out


def refused(result):
    assert result.code == 1, result
    assert "Traceback" not in result.out + result.err and result.err.startswith("rollcall: ")
    return result.err


@pytest.fixture
def org(cli):
    ok(cli("init", "--org-name", "Acme", "--admin-email", "sam@example.com",
           "--admin-first-name", "Sam", "--admin-last-name", "Stone"))
    ok(cli("projects", "add", "alpha", "Project Alpha", *SAM))
    ok(cli("projects", "add", "beta", "ベータ計画 🚀", *SAM))
    for email, first, project, level, scope in (
            ("sue", "Sue", "alpha", "super", "alpha"), ("pat", "Pat", "alpha", "assistant", "all"),
            ("vic", "Vic", "alpha", "view-only", "alpha"), ("lee", "Lee", "alpha", None, None),
            ("bo", "Bo", "beta", None, None)):
        ok(cli("users", "add", "--email", f"{email}@example.com", "--first-name", first,
               "--last-name", "Test", "--project", project, *SAM))
        if level:
            ok(cli("admins", "set", f"{email}@example.com", level, "--projects", scope, *SAM))
            ok(cli("users", "login", f"{email}@example.com"))
    return cli


def test_projects_list_shows_keys_names_and_live_members(org):
    org("users", "add", "--email", "gone@example.com", "--first-name", "Gone", "--last-name",
        "Soon", "--project", "beta", *SAM)
    ok(org("users", "delete", "gone@example.com", *SAM))
    table = ok(org("projects", "list")).splitlines()
    assert table[0].split() == ["KEY", "NAME", "MEMBERS"]
    assert table[1].startswith("alpha  Project Alpha") and table[1].endswith("4")
    assert table[2].startswith("beta") and "ベータ計画 🚀" in table[2] and table[2].endswith("1")
    assert json.loads(ok(org("projects", "list", "--json"))) == [
        {"key": "alpha", "name": "Project Alpha", "members": 4},
        {"key": "beta", "name": "ベータ計画 🚀", "members": 1}]


def test_projects_list_with_an_actor_shows_the_actors_scope(org):
    assert [p["key"] for p in json.loads(ok(org("projects", "list", "--json", *SUE)))] == [
        "alpha"]
    assert len(json.loads(ok(org("projects", "list", "--json", *PAT)))) == 2
    assert "not an administrator" in refused(org("projects", "list", *LEE))


def test_projects_list_before_any_project_says_how_to_add_one(cli):
    ok(cli("init", "--org-name", "Acme", "--admin-email", "sam@example.com",
           "--admin-first-name", "Sam", "--admin-last-name", "Stone"))
    assert "rollcall projects add KEY NAME" in ok(cli("projects", "list"))
    assert json.loads(ok(cli("projects", "list", "--json"))) == []


def test_billing_settings_shows_the_defaults_and_changes_nothing(org, empty_ctx):
    before, events = store_state(empty_ctx), len(audit(empty_ctx))
    text = ok(org("billing", "settings"))
    assert "never configured" in text and "UTC" in text and "monthly" in text
    assert "No prices are set" in text
    doc = json.loads(ok(org("billing", "settings", "--json", *VIC)))  # any admin may read
    assert doc["configured"] is False and doc["changes"] == [] and doc["waiting"] == []
    assert doc["in_force"]["prices"] == {"user": "0", "super": "0", "assistant": "0",
                                         "view-only": "0"}
    assert doc["in_force"]["from"] == "2025-02-01T00:00:00+00:00"
    assert store_state(empty_ctx) == before and len(audit(empty_ctx)) == events
    assert "not an administrator" in refused(org("billing", "settings", *LEE))


def test_billing_settings_shows_a_change_waiting_for_the_cycle_end(org, clock):
    ok(org("billing", "configure", "--timezone", "Europe/Paris", "--user-price", "10",
           "--admin-price", "super=50", *SAM))
    clock.set("2025-03-05T10:00:00Z")
    ok(org("billing", "close"))  # February is final: changes now wait for a cycle end
    ok(org("billing", "configure", "--user-price", "12", *SAM))
    doc = json.loads(ok(org("billing", "settings", "--json")))
    assert doc["configured"] is True
    assert doc["in_force"]["prices"]["user"] == "10.00"
    assert doc["in_force"]["timezone"] == "Europe/Paris"
    [waiting] = doc["waiting"]
    assert waiting["prices"]["user"] == "12.00" and waiting["state"] == "waiting"
    assert waiting["from"] == "2025-04-01T00:00:00+02:00"  # local midnight, summer time
    assert [v["state"] for v in doc["versions"]] == ["in force", "waiting"]
    assert doc["changes"][0]["change"] == "user_price=12"
    text = ok(org("billing", "settings"))
    assert "Waiting for the cycle end: from 2025-04-01" in text and "$12.00" in text
    assert "sam@example.com" in text and "No prices are set" not in text


def schedule(org):
    ok(org("admins", "set", "pat@example.com", "view-only", "--projects", "alpha",
           "--at-cycle-end", *SAM))


def test_admins_scheduled_lists_and_admins_list_marks_them(org):
    assert "no changes scheduled" in ok(org("admins", "scheduled"))
    schedule(org)
    text = ok(org("admins", "scheduled"))
    assert "1 change scheduled" in text and "VIEW ONLY over alpha on Mar 1" in text
    [change] = json.loads(ok(org("admins", "scheduled", "--json", *VIC)))
    assert change == {"email": "pat@example.com", "name": "Pat Test", "action": "set_level",
                      "level": "view-only", "projects": ["alpha"],
                      "at": "2025-03-01T00:00:00+00:00", "when": "Mar 1"}
    admins = {a["email"]: a for a in json.loads(ok(org("admins", "list", "--json")))}
    assert admins["pat@example.com"]["scheduled"] == {
        "action": "set_level", "level": "view-only", "projects": ["alpha"],
        "at": "2025-03-01T00:00:00+00:00"}
    assert admins["sam@example.com"]["scheduled"] is None
    lines = ok(org("admins", "list")).splitlines()
    assert lines[0].split()[-1] == "SCHEDULED"
    pat = next(ln for ln in lines if ln.startswith("pat@"))
    assert pat.endswith("VIEW ONLY over alpha on Mar 1")


def test_admins_cancel_needs_the_rights_the_change_needs(org, empty_ctx):
    schedule(org)
    before = store_state(empty_ctx)
    assert "Only a SUPER" in refused(org("admins", "cancel", "pat@example.com", *PAT))
    # Sue is a SUPER over alpha, and Pat's grant is over all projects: not hers to change
    assert "outside Sue Test's scope" in refused(
        org("admins", "cancel", "pat@example.com", *SUE))
    assert len(json.loads(ok(org("admins", "scheduled", "--json")))) == 1
    assert "will not run" in ok(org("admins", "cancel", "PAT@example.com", *SAM))
    assert json.loads(ok(org("admins", "scheduled", "--json"))) == []
    after = store_state(empty_ctx)
    assert [status for _, status in after.pop("scheduled")] == ["cancelled"]
    assert [status for _, status in before.pop("scheduled")] == ["pending"]
    assert after == before  # cancelling changes no user, grant or membership
    assert [e.action for e in audit(empty_ctx, "ok")][-1] == "admin.schedule_cancel"
    again = refused(org("admins", "cancel", "pat@example.com", *SAM))
    assert "has no change scheduled" in again and "nothing to cancel" in again


def test_admins_cancel_of_someone_out_of_scope_does_not_name_them(org):
    ok(org("admins", "set", "sue@example.com", "super", "--projects", "alpha", *SAM))
    err = refused(org("admins", "cancel", "bo@example.com", *SUE))
    assert "outside Sue Test's scope" in err and "Bo" not in err and "beta" not in err


def test_users_list_total_is_the_organizations_whatever_the_filter(org):
    ok(org("users", "add", "--email", "new@example.com", "--first-name", "New",
           "--last-name", "Person", "--project", "beta", "--inactive", *SAM))
    pending = ok(org("users", "list", "--status", "pending")).splitlines()
    assert pending[0] == "Total Active Users: 6"  # not 0: the total ignores the filter
    assert [ln.split()[0] for ln in pending[2:]] == ["new@example.com"]
    assert ok(org("users", "list", "--status", "deactivated")) == (
        "Total Active Users: 6\nNo deactivated users to show.\n")
    scoped = ok(org("users", "list", "--status", "pending", *SUE)).splitlines()
    assert scoped[0] == "Total Active Users: 4" and len(scoped) == 2  # alpha's; Pat's none


def test_users_list_deleted_shows_only_the_deleted(org):
    ok(org("users", "delete", "bo@example.com", *SAM))
    ok(org("users", "add", "--email", "bo@example.com", "--first-name", "Bo", "--last-name",
           "Again", "--project", "beta", *SAM))  # the email is free again
    live = json.loads(ok(org("users", "list", "--json")))
    assert [u["last_name"] for u in live if u["email"] == "bo@example.com"] == ["Again"]
    assert live == json.loads(ok(org("users", "list", "--status", "all", "--json")))
    deleted = json.loads(ok(org("users", "list", "--status", "deleted", "--json")))
    assert deleted == [{"email": "bo@example.com", "first_name": "Bo", "last_name": "Test",
                        "status": "deleted", "projects": ["beta"]}]
    text = ok(org("users", "list", "--status", "deleted")).splitlines()
    assert text[0] == "Total Active Users: 6" and text[2].split()[-2:] == ["deleted", "beta"]
    assert json.loads(ok(org("users", "list", "--status", "deleted", "--json", *SUE))) == []
    assert org("users", "list", "--status", "gone").code == 2


def test_tables_stay_aligned_with_wide_characters_and_cap_long_cells(org):
    long_name = "Maximilian-" + "x" * 80
    for email, first, last in (("kana@example.com", "花子", "山田"),
                               ("emoji@example.com", "Zoë 😀", "Ng"),
                               ("long@example.com", long_name, "L")):
        ok(org("users", "add", "--email", email, "--first-name", first, "--last-name", last,
               "--project", "beta", *SAM))
    lines = ok(org("users", "list")).splitlines()[1:]
    header = lines[0]
    starts = [width(header[:header.index(n)]) for n in ("NAME", "STATUS", "PROJECTS")]
    for line in lines[1:]:
        cells = line.split("  ")
        cells = [c.strip() for c in cells if c.strip()]
        found = [width(line[:line.index(c)]) for c in cells[1:4]]
        assert found == starts, (line, found, starts)
    long_row = next(ln for ln in lines if ln.startswith("long@"))
    name = long_row.split("  ")[1] if "  " in long_row else ""
    assert "…" in long_row and width(name.strip()) == 40
    full = json.loads(ok(org("users", "list", "--json")))
    assert f"{long_name}" in {u["first_name"] for u in full}  # JSON keeps the whole value


def test_the_views_as_a_real_process(tmp_path, database_url):
    """`rollcall` as installed: one init, then every view; no traceback anywhere."""
    run = rollcall_process(tmp_path, database_url)

    assert run("init", "--org-name", "Acme", "--admin-email", "sam@example.com",
               "--admin-first-name", "Sam", "--admin-last-name", "Stone").returncode == 0
    assert run("projects", "add", "alpha", "Alpha", *SAM).returncode == 0
    assert json.loads(run("projects", "list", "--json").stdout)[0]["key"] == "alpha"
    settings = run("billing", "settings")
    assert settings.returncode == 0 and "time zone" in settings.stdout
    assert run("admins", "scheduled").returncode == 0
    nothing = run("admins", "cancel", "sam@example.com", *SAM)
    assert nothing.returncode == 1 and "nothing to cancel" in nothing.stderr
    listing = run("users", "list", "--status", "deleted")
    assert listing.returncode == 0 and listing.stdout.startswith("Total Active Users: 1")
