"""The `rollcall` command line: exit codes, JSON shapes, import and export."""

import json

import pytest

from tests.helpers import store_state

SAM = ["--actor", "sam@example.com"]


@pytest.fixture
def org(cli):
    assert cli("init", "--org-name", "Acme", "--admin-email", "sam@example.com",
               "--admin-first-name", "Sam", "--admin-last-name", "Stone").code == 0
    assert cli("projects", "add", "alpha", "Alpha", *SAM).code == 0
    return cli


def test_every_command_before_init_says_how_to_initialise(cli):
    result = cli("users", "list")
    assert result.code == 1 and "rollcall init" in result.err


def test_init_twice_is_refused(org):
    again = org("init", "--org-name", "X", "--admin-email", "x@example.com",
                "--admin-first-name", "X", "--admin-last-name", "Y")
    assert again.code == 1 and "already initialised" in again.err


@pytest.mark.parametrize("argv", [
    [], ["users"], ["users", "frobnicate"], ["admins", "set", "a@example.com", "emperor", *SAM],
    ["users", "add", "--email", "a@example.com", *SAM], ["users", "activate", "a@example.com"],
])
def test_usage_errors_exit_2(org, argv):
    assert org(*argv).code == 2


def test_users_list_json_shape(org):
    org("users", "add", "--email", "Lee@Example.com", "--first-name", "Lee", "--last-name",
        "Park", "--project", "alpha", "--inactive", *SAM)
    users = json.loads(org("users", "list", "--json").out)
    assert users == [
        {"email": "Lee@example.com", "first_name": "Lee", "last_name": "Park",
         "status": "pending", "projects": ["alpha"]},
        {"email": "sam@example.com", "first_name": "Sam", "last_name": "Stone",
         "status": "active", "projects": []},
    ]
    text = org("users", "list").out
    assert text.startswith("Total Active Users: 1\n") and "Lee@example.com" in text


def test_admins_list_json_shape(org):
    org("users", "add", "--email", "lee@example.com", "--first-name", "Lee", "--last-name",
        "Park", "--project", "alpha", *SAM)
    assert org("admins", "set", "lee@example.com", "view-only", "--projects", "alpha",
               *SAM).code == 0
    admins = json.loads(org("admins", "list", "--json").out)
    assert admins[0] == {"email": "lee@example.com", "level": "view-only",
                         "effective_level": None, "pending": True, "acts_as": None,
                         "projects": ["alpha"], "scheduled": None}
    assert admins[1]["projects"] == "all" and admins[1]["level"] == "super"
    assert admins[1]["acts_as"] == "super"
    table = org("admins", "list").out.splitlines()
    assert "ACTS AS NOW" in table[0]
    assert [row.split()[4] for row in table[1:]] == ["none", "super"]


def test_a_refusal_exits_1_with_the_reason_on_stderr(org):
    result = org("users", "deactivate", "sam@example.com", *SAM)
    assert result.code == 1 and result.out == ""
    assert "last active SUPER" in result.err and "Traceback" not in result.err


def test_an_unknown_actor_is_refused(org):
    result = org("users", "add", "--email", "a@example.com", "--first-name", "A",
                 "--last-name", "B", "--actor", "who@example.com")
    assert result.code == 1 and "who@example.com is not a Rollcall user" in result.err


def write(tmp_path, text, name="users.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return str(path)


GOOD = ("email,first_name,last_name,projects,status\n"
        "ann@example.com,Ann,Archer,alpha,active\n"
        "bob@example.com,Bob,Baker,,pending\n")


def test_import_creates_every_row(org, tmp_path):
    result = org("users", "import", write(tmp_path, GOOD), *SAM)
    assert result.code == 0 and "Imported 2 users" in result.out
    users = {u["email"]: u for u in json.loads(org("users", "list", "--json").out)}
    assert users["ann@example.com"]["projects"] == ["alpha"]
    assert users["bob@example.com"]["status"] == "pending"


def test_imported_users_are_billed_from_the_import(org, tmp_path, clock):
    """An import writes its users' states in one batch; they bill like any others."""
    org("users", "import", write(tmp_path, GOOD), *SAM)
    bob_later = "email,first_name,last_name,status\ncy@example.com,Cy,Cole,active\n"
    clock.advance(hours=1)
    org("users", "activate", "bob@example.com", *SAM)
    org("users", "import", write(tmp_path, bob_later, "more.csv"), *SAM)
    assert org("db", "check").code == 0
    preview = json.loads(org("billing", "preview", "--json").out)
    assert preview["users"] == ["ann@example.com", "bob@example.com", "cy@example.com",
                                "sam@example.com"]


def test_import_dry_run_reports_every_problem_by_row_and_changes_nothing(org, tmp_path,
                                                                        empty_ctx):
    org("users", "add", "--email", "taken@example.com", "--first-name", "T", "--last-name",
        "K", *SAM)
    csv = ("email,first_name,last_name,projects\n"
           "ok@example.com,Ok,Fine,alpha\n"          # row 2: fine
           "not-an-email,No,Mail,\n"                 # row 3
           "TAKEN@example.com,Ta,Ken,\n"             # row 4
           "ok@EXAMPLE.com,Dup,Licate,\n"            # row 5
           "x@example.com,   ,Blank,\n"              # row 6
           f"y@example.com,{'n' * 10_000},Long,\n"   # row 7
           "z@example.com,Zed,Zulu,gamma\n")         # row 8
    before = store_state(empty_ctx)
    result = org("users", "import", write(tmp_path, csv), "--dry-run", *SAM)
    assert result.code == 1
    for row, words in [(3, "not a valid email"), (5, "repeats row 2"),
                       (6, "First name is required"), (7, "10,000 characters"),
                       (8, "no project has the key gamma")]:
        assert f"row {row}: " in result.err and words in result.err, (row, result.err)
    assert "row 2:" not in result.err and "row 4:" not in result.err  # row 4: an existing user
    assert store_state(empty_ctx) == before
    as_json = org("users", "import", write(tmp_path, csv), "--dry-run", "--json", *SAM)
    report = json.loads(as_json.out)
    assert as_json.code == 1 and report["ok"] is False and as_json.err == ""
    assert report["rows"] == 7 and {p["row"] for p in report["problems"]} == {3, 5, 6, 7, 8}


def test_a_clean_dry_run_exits_0_and_changes_nothing(org, tmp_path, empty_ctx):
    before = store_state(empty_ctx)
    result = org("users", "import", write(tmp_path, GOOD), "--dry-run", *SAM)
    assert result.code == 0 and "All 2 rows are valid" in result.out
    assert store_state(empty_ctx) == before


def test_a_real_import_is_all_or_nothing(org, tmp_path, empty_ctx):
    before = store_state(empty_ctx)
    bad = GOOD + "bad-email,Car,Cole,\n"
    result = org("users", "import", write(tmp_path, bad), *SAM)
    assert result.code == 1 and "row 4:" in result.err and "Nothing was imported" in result.err
    assert store_state(empty_ctx) == before


@pytest.mark.parametrize(("content", "words"), [
    ("email,first_name\nann@example.com,Ann\n", "no last_name column"),
    ("Ann,Archer\n", "no email, first_name, last_name column"),
    ("".encode("utf-16"), "not UTF-8"),
    (b"email,first_name,last_name\n\xff\xfe,A,B\n", "not UTF-8"),
    ("email,first_name,last_name\n", "no rows"),
    ("email,first_name,last_name\na@example.com,A,B,extra\n", "more cells"),
    ("email,first_name,last_name,status\na@example.com,A,B,frozen\n", "not one of"),
])
def test_a_malformed_csv_is_refused_with_a_reason(org, tmp_path, content, words, empty_ctx):
    before = store_state(empty_ctx)
    result = org("users", "import", write(tmp_path, content), *SAM)
    assert result.code == 1 and words in result.err, result.err
    assert store_state(empty_ctx) == before


def test_a_missing_file_is_refused(org, tmp_path):
    result = org("users", "import", str(tmp_path / "nope.csv"), *SAM)
    assert result.code == 1 and "Cannot read" in result.err


def test_an_assistant_import_outside_its_scope_is_refused(org, tmp_path):
    org("users", "add", "--email", "pat@example.com", "--first-name", "Pat", "--last-name",
        "Lane", "--project", "alpha", *SAM)
    org("admins", "set", "pat@example.com", "assistant", "--projects", "alpha", *SAM)
    org("users", "login", "pat@example.com")
    result = org("users", "import", write(tmp_path, GOOD), "--actor", "pat@example.com")
    assert result.code == 1 and "row 3:" in result.err and "outside Pat Lane's scope" in result.err


def test_export_round_trips_through_import(org, tmp_path, cli):
    org("users", "import", write(tmp_path, GOOD), *SAM)
    exported = org("users", "export").out
    assert exported.splitlines()[0] == "email,first_name,last_name,status,projects"
    assert "ann@example.com,Ann,Archer,active,alpha" in exported
    lines = [ln for ln in exported.splitlines() if not ln.startswith("sam@")]
    org("users", "delete", "ann@example.com", *SAM)
    org("users", "delete", "bob@example.com", *SAM)
    result = org("users", "import", write(tmp_path, "\n".join(lines) + "\n", "again.csv"), *SAM)
    assert result.code == 0, result.err
    assert org("users", "export").out == exported


def test_db_check_finds_edited_periods_and_rebuild_repairs_them(org, empty_ctx):
    from sqlalchemy import delete, select

    from store.models import StatePeriod, User

    org("users", "add", "--email", "lee@example.com", "--first-name", "Lee",
        "--last-name", "Park", *SAM)
    assert org("db", "check").code == 0
    before = json.loads(org("billing", "preview", "--json").out)
    assert before["active_users"] == 2
    with empty_ctx.uow as uow:  # a hand edit: Lee's period is gone
        lee = uow.session.scalar(select(User.id).where(User.email == "lee@example.com"))
        uow.session.execute(delete(StatePeriod).where(StatePeriod.user_id == lee))
        uow.commit()
    assert json.loads(org("billing", "preview", "--json").out)["active_users"] == 1
    check = org("db", "check")
    assert check.code == 1
    assert f"missing: user {lee} active" in check.err and "rebuild-periods" in check.err
    rebuilt = org("db", "rebuild-periods")
    assert rebuilt.code == 0 and "2 state periods" in rebuilt.out
    assert org("db", "check").code == 0
    assert json.loads(org("billing", "preview", "--json").out) == before


def test_billing_text_names_cycles_as_people_say_them_and_json_keeps_instants(org, clock):
    """Paris, monthly on the 1st: March holds the change to summer time. Text names each
    cycle by its local days; JSON keeps the ISO instants, with the zone's offset."""
    assert org("billing", "configure", "--timezone", "Europe/Paris", "--anchor", "2025-01-01",
               "--user-price", "10", *SAM).code == 0
    clock.set("2025-04-02T12:00:00Z")
    closed = org("billing", "close").out.splitlines()
    assert [line.split(":")[0] for line in closed] == [
        "Closed February 2025 (Feb 1 - Feb 28)", "Closed March 2025 (Mar 1 - Mar 31)"]
    march = org("billing", "invoice", "--cycle", "2025-03-15", *SAM).out
    assert march.splitlines()[0] == "FINAL invoice for March 2025 (Mar 1 - Mar 31)"
    doc = json.loads(org("billing", "invoice", "--cycle", "2025-03-15", "--json", *SAM).out)
    assert (doc["cycle_start"], doc["cycle_end"]) == ("2025-03-01T00:00:00+01:00",
                                                      "2025-04-01T00:00:00+02:00")
    preview = org("billing", "preview", *SAM).out
    assert preview.startswith("DRAFT invoice for April 2025 (Apr 1 - Apr 30)\n")
    assert json.loads(org("billing", "preview", "--json").out)["cycle_end"] == \
        "2025-05-01T00:00:00+02:00"
    listed = org("billing", "invoices").out.splitlines()
    assert [line[:30] for line in listed] == [
        "February 2025 (Feb 1 - Feb 28)", "March 2025 (Mar 1 - Mar 31)   ",
        "April 2025 (Apr 1 - Apr 30)   "]
    assert len({line.index("users") for line in listed}) == 1  # aligned
    assert [d["cycle_start"] for d in json.loads(org("billing", "invoices", "--json").out)] == [
        "2025-02-01T00:00:00+01:00", "2025-03-01T00:00:00+01:00", "2025-04-01T00:00:00+02:00"]
    assert "2025-0" not in "".join(closed) + march + preview + "".join(listed)


def test_a_fixed_30_cycle_is_named_by_its_first_and_last_day(org):
    assert org("billing", "configure", "--cycle", "fixed-30", "--anchor", "2025-01-27",
               *SAM).code == 0
    assert org("billing", "preview").out.startswith("DRAFT invoice for Jan 27 - Feb 25, 2025\n")
    assert json.loads(org("billing", "preview", "--json").out)["cycle_end"] == \
        "2025-02-26T00:00:00+00:00"
