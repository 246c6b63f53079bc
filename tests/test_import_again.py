"""Importing again (issue 11): an export imports back into its own organization; rows
naming an existing user are unchanged, left alone, or updated with `--update` through
the rules of single changes; `--json` answers with one JSON document, success or not;
the CSV hints (semicolons, header spellings, an empty file, a repeated header); plurals.
Black-box: `rollcall` in-process (`cli`) and as a real process."""

from __future__ import annotations

import json

import pytest

from tests.helpers import audit, rollcall_process, store_state

SAM = ["--actor", "sam@example.com"]
PAT = ["--actor", "pat@example.com"]  # an ASSISTANT over alpha
HEADER = "email,first_name,last_name,status,projects\n"


def ok(result):
    assert result.code == 0, result
    assert "Traceback" not in result.out + result.err
    return result.out


def refused(result):
    assert result.code == 1, result
    assert "Traceback" not in result.out + result.err
    return result.err


@pytest.fixture
def org(cli):
    ok(cli("init", "--org-name", "Acme", "--admin-email", "sam@example.com",
           "--admin-first-name", "Sam", "--admin-last-name", "Stone"))
    for key in ("alpha", "beta"):
        ok(cli("projects", "add", key, key.title(), *SAM))
    ok(cli("users", "add", "--email", "pat@example.com", "--first-name", "Pat",
           "--last-name", "Lane", "--project", "alpha", *SAM))
    ok(cli("admins", "set", "pat@example.com", "assistant", "--projects", "alpha", *SAM))
    ok(cli("users", "login", "pat@example.com"))
    for email, first, status, project in (("ann", "Ann", "active", "alpha"),
                                          ("bob", "Bob", "pending", "alpha"),
                                          ("cy", "Cy", "active", "beta")):
        ok(cli("users", "add", "--email", f"{email}@example.com", "--first-name", first,
               "--last-name", "Test", "--project", project, *SAM,
               *(["--inactive"] if status == "pending" else [])))
    return cli


def write(tmp_path, text, name="users.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def edited(export: str, **rows: str) -> str:
    """The export with the rows of some emails replaced (`ann="ann@...,Ann,..."`)."""
    out = []
    for line in export.splitlines():
        email = line.split(",", 1)[0].split("@")[0]
        out.append(rows.get(email, line))
    return "\n".join(out) + "\n"


def test_an_export_imports_back_into_its_own_organization_unchanged(org, tmp_path,
                                                                    empty_ctx):
    export = ok(org("users", "export"))
    before = store_state(empty_ctx)
    dry = ok(org("users", "import", write(tmp_path, export), "--dry-run", *SAM))
    assert dry.startswith("All 5 rows are valid: 0 new users (0 active), 5 unchanged.")
    done = ok(org("users", "import", write(tmp_path, export), *SAM))
    assert done == "No new users; 5 unchanged.\n"
    assert store_state(empty_ctx) == before
    assert ok(org("users", "export")) == export


def test_rows_that_differ_are_left_alone_without_update_and_said_so(org, tmp_path,
                                                                    empty_ctx):
    export = ok(org("users", "export"))
    changed = edited(export, ann="ANN@example.com,Annie,Test,deactivated,alpha",
                     bob="bob@example.com,Bob,Test,active,alpha;beta") + (
        "dee@example.com,Dee,New,active,beta\n")
    path = write(tmp_path, changed)
    dry = ok(org("users", "import", path, "--dry-run", *SAM)).splitlines()
    assert dry[0] == ("All 6 rows are valid: 1 new user (1 active), 3 unchanged, 2 that "
                      "differ from their user, left alone.")
    assert ("row 2: ann@example.com differs (left alone): first name Ann → Annie; status "
            "active → deactivated") in dry
    assert ("row 3: bob@example.com differs (left alone): projects alpha → alpha, beta; "
            "status pending → active") in dry
    assert "Add --update to change those users as their rows say." in dry
    assert "Importing 1 active user: this cycle $0.00, next cycle $0.00." in dry
    before = store_state(empty_ctx)
    done = ok(org("users", "import", path, *SAM)).splitlines()
    assert done[0] == ("Imported 1 user (1 active); 3 unchanged; 2 rows that differ from "
                       "their user left alone.")
    after = store_state(empty_ctx)
    assert after["users"][:-1] == before["users"] and after["users"][-1][1] == "dee@example.com"


def test_update_changes_names_projects_and_status_through_the_rules(org, tmp_path,
                                                                    empty_ctx):
    export = ok(org("users", "export"))
    path = write(tmp_path, edited(export, ann="ann@example.com,Annie,Test,deactivated,alpha",
                                  bob="bob@example.com,Bob,Test,active,alpha;beta"))
    dry = ok(org("users", "import", path, "--dry-run", "--update", *SAM))
    assert "2 to update" in dry and "row 2: ann@example.com would change" in dry
    assert "Importing 1 active user" in dry  # Bob's activation takes a seat
    as_json = json.loads(ok(org("users", "import", path, "--dry-run", "--update", "--json",
                                *SAM)))
    assert as_json["changes"][0] == {"row": 2, "email": "ann@example.com", "changes": {
        "first_name": {"from": "Ann", "to": "Annie"},
        "status": {"from": "active", "to": "deactivated"}}}
    done = json.loads(ok(org("users", "import", path, "--update", "--json", *SAM)))
    assert done == {"ok": True, "created": 0, "active": 0, "unchanged": 3, "updated": 2,
                    "left_alone": 0, "notes": []}
    users = {u["email"]: u for u in json.loads(ok(org("users", "list", "--json")))}
    assert users["ann@example.com"]["first_name"] == "Annie"
    assert users["ann@example.com"]["status"] == "deactivated"
    assert users["bob@example.com"] == {"email": "bob@example.com", "first_name": "Bob",
                                        "last_name": "Test", "status": "active",
                                        "projects": ["alpha", "beta"]}
    events = [(e.action, e.subject) for e in audit(empty_ctx, "ok")][-5:-1]
    assert events == [("user.deactivate", "ann@example.com"), ("user.update", "ann@example.com"),
                      ("user.activate", "bob@example.com"), ("user.update", "bob@example.com")]
    assert "match" in ok(org("db", "check"))  # billing's periods follow the audit


@pytest.mark.parametrize(("row", "actor", "words"), [
    ("sam@example.com,Sam,Stone,deactivated,", SAM, "is an admin (SUPER), so an import does "
                                                     "not deactivate them"),
    ("ann@example.com,Ann,Test,pending,alpha", SAM, "does not go back to pending"),
    ("cy@example.com,Cyrus,Test,active,beta", PAT, "is already a user, outside Pat Lane's "
                                                   "scope"),
    ("ann@example.com,Ann,Test,active,beta", PAT, "outside Pat Lane's scope"),
])
def test_an_update_the_rules_refuse_imports_nothing(org, tmp_path, empty_ctx, row, actor,
                                                    words):
    path = write(tmp_path, HEADER + "new@example.com,New,Person,active,alpha\n" + row + "\n")
    before = store_state(empty_ctx)
    err = refused(org("users", "import", path, "--update", *actor))
    assert "row 3: " in err and words in err, err
    assert store_state(empty_ctx) == before  # all or nothing: the new row is not created
    report = json.loads(org("users", "import", path, "--update", "--dry-run", "--json",
                            *actor).out)
    assert report["ok"] is False and report["problems"][0]["row"] == 3


def test_emails_match_in_any_letter_case(org, tmp_path):
    path = write(tmp_path, HEADER + "ANN@EXAMPLE.COM,Ann,Test,active,alpha\n")
    assert ok(org("users", "import", path, *SAM)) == "No new users; 1 unchanged.\n"


def test_json_failures_are_one_document_on_stdout(org, tmp_path):
    cases = [
        (write(tmp_path, HEADER + "bad-email,A,B,active,\n", "a.csv"), "1 row has problems"),
        (str(tmp_path / "missing.csv"), "Cannot read"),
        (write(tmp_path, b"email,first_name,last_name\n\xff,A,B\n", "b.csv"), "not UTF-8"),
        (write(tmp_path, b"", "c.csv"), "The file is empty"),
    ]
    for path, words in cases:
        result = org("users", "import", path, "--json", *SAM)
        assert result.code == 1 and result.err == "", result
        doc = json.loads(result.out)
        assert doc["ok"] is False and words in doc["error"], doc
    doc = json.loads(org("users", "import", cases[0][0], "--json", *SAM).out)
    assert doc["problems"] == [{"row": 2, "problem": doc["problems"][0]["problem"]}]
    assert "not a valid email" in doc["problems"][0]["problem"]
    lee = json.loads(org("users", "import", cases[0][0], "--json", "--actor",
                         "nobody@example.com").out)
    assert "not a Rollcall user" in lee["error"]


@pytest.mark.parametrize(("text", "created"), [
    ("E-mail;First Name;Last Name;Projects\ndee@example.com;Dee;Ng;alpha beta\n", 1),
    ("Email Address\tGiven Name\tSurname\ndee@example.com\tDee\tNg\n", 1),
    ("EMAIL,first-name,LAST_NAME,Status\ndee@example.com,Dee,Ng,pending\n,,,\n\n , \n", 1),
])
def test_plain_variants_of_the_format_are_accepted(org, tmp_path, text, created):
    result = ok(org("users", "import", write(tmp_path, text), *SAM))
    assert result.startswith(f"Imported {created} user ("), result
    users = {u["email"]: u for u in json.loads(ok(org("users", "list", "--json")))}
    assert users["dee@example.com"]["last_name"] == "Ng"


def test_a_semicolon_file_and_an_unknown_column_are_said(org, tmp_path):
    text = "email;first_name;last_name;Departement\ndee@example.com;Dee;Ng;Sales\n"
    dry = ok(org("users", "import", write(tmp_path, text), "--dry-run", *SAM))
    assert "separated by semicolons" in dry
    assert "The column 'Departement' is not one Rollcall reads, so it was ignored" in dry


@pytest.mark.parametrize(("text", "words"), [
    (b"", "The file is empty. Its first row must be the header: email,first_name,last_name"),
    (b"\xef\xbb\xbf\n\n,,\n", "The file is empty"),
    (HEADER + "dee@example.com,Dee,Ng,active,\n" + HEADER + "eve@example.com,Eve,Ng,active,\n",
     "row 3: it repeats the header row (two files pasted together?); remove this row"),
    ("Email,E-mail,first_name,last_name\n", "names the email column twice"),
    ("dee@example.com,Dee,Ng\n", "The first row holds data: add the header row above it."),
])
def test_what_cannot_be_read_says_what_to_do(org, tmp_path, text, words, empty_ctx):
    before = store_state(empty_ctx)
    err = refused(org("users", "import", write(tmp_path, text), *SAM))
    assert words in err, err
    assert store_state(empty_ctx) == before


def test_counts_are_singular_for_one(org, tmp_path):
    path = write(tmp_path, HEADER + "dee@example.com,Dee,Ng,active,alpha\n")
    dry = ok(org("users", "import", path, "--dry-run", *SAM))
    assert dry.startswith("The 1 row is valid: 1 new user (1 active).")
    assert "Importing 1 active user:" in dry
    assert ok(org("users", "import", path, *SAM)) == "Imported 1 user (1 active).\n"
    changed = write(tmp_path, HEADER + "dee@example.com,Dee,Ngo,active,alpha\n", "b.csv")
    assert ok(org("users", "import", changed, "--dry-run", *SAM)).startswith(
        "The 1 row is valid: 0 new users (0 active), 1 that differs from its user, left "
        "alone.")
    assert ok(org("users", "import", changed, *SAM)).startswith(
        "No new users; 1 row that differs from its user left alone.")
    assert ok(org("users", "import", changed, "--update", *SAM)) == (
        "No new users; updated 1 user.\n")


def test_import_json_as_a_real_process(tmp_path, database_url):
    run = rollcall_process(tmp_path, database_url)

    run("init", "--org-name", "Acme", "--admin-email", "sam@example.com",
        "--admin-first-name", "Sam", "--admin-last-name", "Stone")
    good = write(tmp_path, HEADER + "dee@example.com,Dee,Ng,active,\n", "good.csv")
    done = run("users", "import", good, "--json", *SAM)
    assert done.returncode == 0 and json.loads(done.stdout)["created"] == 1
    again = run("users", "import", good, "--json", *SAM)
    assert again.returncode == 0 and json.loads(again.stdout)["unchanged"] == 1
    bad = write(tmp_path, HEADER + "dee@example.com,Dee,Ng,pending,\n", "bad.csv")
    failed = run("users", "import", bad, "--update", "--json", *SAM)
    assert failed.returncode == 1 and failed.stderr == ""
    doc = json.loads(failed.stdout)
    assert doc["ok"] is False and "back to pending" in doc["problems"][0]["problem"]
