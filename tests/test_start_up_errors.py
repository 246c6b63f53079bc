"""Start-up and settings, as an operator meets them (issue 11): a wrong DATABASE_URL is one
line naming the setting, what is wrong and what to do, exit 2, for every command; an
unreachable database says "try again", exit 1; "not initialised" names the database
used; commands that only use a database never create an empty SQLite file; malformed
`billing configure` arguments are usage errors (exit 2); configuration gaps are said
once. The command line runs as a subprocess, as an operator runs it, except for the
sweep over every command (in-process `main`, the same code without 30 interpreter starts).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from handlers.cli import main
from handlers.cli.parser import build_parser
from tests.conftest import PG_URL

ROLLCALL = str(Path(sys.executable).with_name("rollcall"))
SAM = "sam@example.com"
INIT = ["init", "--org-name", "Acme", "--admin-email", SAM, "--admin-first-name", "Sam",
        "--admin-last-name", "Stone"]
SECRET_PASSWORD = "s3cret-Pa55word"


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "ROLLCALL_", "DATABASE_URL", "PORT"))}
    return {**env, **extra}


def rollcall(cwd: Path, *argv: str, timeout: float = 60, **env: str) -> Ran:
    done = subprocess.run([ROLLCALL, *argv], cwd=cwd, env=clean_env(**env), text=True,
                          capture_output=True, timeout=timeout)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return Ran(done.returncode, done.stdout, done.stderr)


# --- every command, every wrong DATABASE_URL ------------------------------------------

def every_command(parser: argparse.ArgumentParser | None = None,
                  prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every leaf command of the grammar, so a command added later is swept too."""
    parser = parser or build_parser()
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix
        return
    for name, sub in subs[0].choices.items():
        yield from every_command(sub, (*prefix, name))


def leaf(command: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in command:
        subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = subs.choices[name]
    return parser


# arguments a command needs besides its required ones, to get past its own checks
EXTRA = {("billing", "configure"): ["--user-price", "10"],
         ("approvals", "policy"): ["--expiry-hours", "24"],
         ("clock",): ["--once"]}


def argv_for(command: tuple[str, ...], csv: Path) -> list[str]:
    """Well-formed arguments for `command`, filled from its grammar."""
    argv = [*command]
    for action in leaf(command)._actions:
        if not (action.required or not action.option_strings) or action.dest == "help":
            continue
        name = action.dest
        if action.choices:
            value = next(iter(action.choices))
        elif "email" in name or name == "actor":
            value = SAM
        elif name == "file":
            value = str(csv)
        elif name == "cycle":
            value = "2025-03-01"
        else:
            value = "alpha"
        argv += [action.option_strings[-1], value] if action.option_strings else [value]
    return argv + EXTRA.get(command, [])


def pg(**parts: str) -> str:
    """TEST_DATABASE_URL with some parts replaced (no such database or role is made)."""
    return make_url(PG_URL).set(**parts).render_as_string(hide_password=False)


def wrong_urls(tmp: Path) -> list[tuple[str, str, list[str]]]:
    """(DATABASE_URL, exit code, words its line must hold)."""
    (tmp / "notes.db").write_text("these are notes, not a database\n")
    cases = [
        (f"sqlite:///{tmp / 'missing-folder' / 'rollcall.db'}", 2,
         ["DATABASE_URL", "missing-folder", "does not exist", "create the folder"]),
        ("sqlite://rollcall.db", 2,
         ["DATABASE_URL", "sqlite:///rollcall.db", "three slashes"]),
        (f"sqlite:///{tmp / 'notes.db'}", 2,
         ["DATABASE_URL", str(tmp / "notes.db"), "not a SQLite database"]),
    ]
    if PG_URL:
        nobody = f"rollcall_nobody_{uuid.uuid4().hex[:8]}"
        nowhere = f"rollcall_nowhere_{uuid.uuid4().hex[:8]}"
        cases += [
            (pg(database=nowhere, password=SECRET_PASSWORD), 2,
             ["DATABASE_URL", nowhere, "does not exist", "createdb", "***"]),
            (pg(username=nobody), 2, ["DATABASE_URL", nobody, "does not exist"]),
            (pg(host="127.0.0.1", port=1), 1, ["unreachable", "Try again", "127.0.0.1:1"]),
        ]
    else:  # unreachable needs no server at all
        cases.append(("postgresql://rollcall@127.0.0.1:1/rollcall", 1,
                      ["unreachable", "Try again", "127.0.0.1:1"]))
    return cases


def test_the_sweep_covers_commands_of_every_kind():
    commands = set(every_command())
    assert {("init",), ("serve",), ("clock",), ("db", "upgrade"), ("users", "list"),
            ("billing", "configure")} <= commands and len(commands) > 20


def test_every_command_names_a_wrong_database_url_in_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    csv = tmp_path / "people.csv"
    csv.write_text("email,first_name,last_name\nlee@example.com,Lee,Park\n")
    # serve needs its Slack settings before it reaches the database
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret")
    for name in ("ROLLCALL_BILLING_CHANNEL", "ROLLCALL_APPROVALS_CHANNEL"):
        monkeypatch.setenv(name, "C1")  # no gap lines: the error is the only line
    monkeypatch.setenv("ROLLCALL_WEBHOOK_SECRET", "w")
    problems = []
    for url, code, words in wrong_urls(tmp_path):
        monkeypatch.setenv("DATABASE_URL", url)
        for command in every_command():
            out, err = io.StringIO(), io.StringIO()
            got = main(argv_for(command, csv), stdout=out, stderr=err)
            lines = err.getvalue().strip().splitlines()
            said = lines[-1] if lines else ""
            if (got != code or len(lines) != 1 or not said.startswith("rollcall: ")
                    or any(word not in said for word in words) or out.getvalue()
                    or SECRET_PASSWORD in err.getvalue()):
                problems.append(f"{' '.join(command)} with {url}: exit {got}: {lines}")
    assert not problems, "\n".join(problems)
    assert not (tmp_path / "missing-folder").exists()


@pytest.mark.parametrize("argv", [INIT, ["serve"]])  # the two that printed tracebacks
def test_a_wrong_database_url_as_an_operator_meets_it(tmp_path, argv):
    slack = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "secret"}
    for url, code, words in wrong_urls(tmp_path):
        ran = rollcall(tmp_path, *argv, DATABASE_URL=url, **slack)
        assert ran.code == code, (url, ran.err)
        assert len(ran.lines) == 1 and all(word in ran.err for word in words), ran.err
        assert SECRET_PASSWORD not in ran.err


def test_the_two_slash_typo_is_a_malformed_setting(tmp_path):
    ran = rollcall(tmp_path, "users", "list", DATABASE_URL="sqlite://rollcall.db")
    assert ran.code == 2 and ran.lines == [
        "rollcall: Setting DATABASE_URL is malformed: with two slashes 'rollcall.db' is read "
        "as a host name; use sqlite:///rollcall.db (three slashes) for a file relative to "
        "the current folder, or four for an absolute path "
        "(sqlite:////srv/rollcall/rollcall.db)."]


# --- which database, and no empty one --------------------------------------------------

USING = [["users", "list"], ["users", "login", SAM], ["billing", "preview"],
         ["admins", "list"], ["db", "check"],
         ["users", "add", "--email", "lee@example.com", "--first-name", "Lee",
          "--last-name", "Park", "--actor", SAM]]


@pytest.mark.parametrize("argv", USING)
def test_a_command_run_in_the_wrong_folder_creates_nothing_and_names_the_file(tmp_path,
                                                                               argv):
    ran = rollcall(tmp_path, *argv)  # DATABASE_URL unset: sqlite:///rollcall.db
    assert ran.code == 1 and len(ran.lines) == 1
    said = ran.lines[0]
    assert "not initialised" in said and f"no SQLite file {tmp_path / 'rollcall.db'}" in said
    assert "DATABASE_URL" in said and "run this there" in said and "rollcall init" in said
    assert list(tmp_path.iterdir()) == []  # no empty database left behind


def test_the_database_set_up_elsewhere_is_found_by_folder_or_setting(tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    assert rollcall(home, *INIT).code == 0  # init creates ./rollcall.db
    assert (home / "rollcall.db").exists()
    lost = rollcall(elsewhere, "users", "list")
    assert lost.code == 1 and str(elsewhere / "rollcall.db") in lost.err
    assert not (elsewhere / "rollcall.db").exists()
    assert rollcall(home, "users", "list").code == 0
    found = rollcall(elsewhere, "users", "list",
                     DATABASE_URL=f"sqlite:///{home / 'rollcall.db'}")
    assert found.code == 0 and SAM in found.out


def test_an_empty_sqlite_file_is_named_in_the_not_initialised_line(tmp_path):
    assert rollcall(tmp_path, "db", "upgrade").code == 0  # the schema, no organization
    ran = rollcall(tmp_path, "users", "list")
    assert ran.code == 1 and len(ran.lines) == 1
    assert f"the SQLite file {tmp_path / 'rollcall.db'} holds no Rollcall organization" \
        in ran.err


def test_an_older_schema_asks_for_db_upgrade_not_init(tmp_path):
    import sqlite3

    assert rollcall(tmp_path, *INIT).code == 0
    with sqlite3.connect(tmp_path / "rollcall.db") as db:
        db.execute("DROP TABLE state_periods")  # as if a later migration had not run
    ran = rollcall(tmp_path, "users", "add", "--email", "lee@example.com", "--first-name",
                   "Lee", "--last-name", "Park", "--actor", SAM)
    assert ran.code == 1 and len(ran.lines) == 1
    assert "rollcall db upgrade" in ran.err and "not initialised" not in ran.err
    assert rollcall(tmp_path, "db", "upgrade").code == 0


@pytest.mark.postgres
def test_an_unmigrated_postgresql_database_is_not_initialised(postgres_url, tmp_path):
    """An empty schema raises undefined_table (42P01, a ProgrammingError), not an
    OperationalError: it is "not initialised" all the same, naming the database."""
    for argv in (["users", "list"], ["users", "login", SAM], ["billing", "preview"]):
        ran = rollcall(tmp_path, *argv, DATABASE_URL=postgres_url)
        assert ran.code == 1 and len(ran.lines) == 1, ran.err
        assert "not initialised" in ran.err and "the PostgreSQL database postgresql://" \
            in ran.err and "DATABASE_URL" in ran.err


def test_a_postgresql_password_is_never_shown(tmp_path):
    # nothing listens on port 1: no PostgreSQL is needed to be refused
    url = f"postgresql://rollcall:{SECRET_PASSWORD}@127.0.0.1:1/rollcall"
    ran = rollcall(tmp_path, "users", "list", DATABASE_URL=url)
    assert ran.code == 1 and SECRET_PASSWORD not in ran.err and "***" in ran.err


# --- billing configure: malformed arguments are usage errors ----------------------------

@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised organization; the tests using it change nothing others read."""
    folder = tmp_path_factory.mktemp("acme")
    assert rollcall(folder, *INIT).code == 0
    return folder


@pytest.mark.parametrize(("args", "words"), [
    (["--user-price", "abc"], ["--user-price", "'abc' is not a price"]),
    (["--currency", "euro"], ["--currency", "'euro' is not a currency"]),
    (["--timezone", "Mars/Olympus"], ["--timezone", "'Mars/Olympus' is not a known time zone"]),
    ([], ["say what to change", "--help"]),
    (["--admin-price", "boss=3"], ["--admin-price", "LEVEL=PRICE"]),
    (["--admin-price", "super=lots"], ["--admin-price", "'lots' is not a price"]),
])
def test_malformed_billing_arguments_are_usage_errors(acme, args, words):
    ran = rollcall(acme, "billing", "configure", *args, "--actor", SAM)
    assert ran.code == 2 and len(ran.lines) == 1 and ran.out == ""
    assert all(word in ran.err for word in words), ran.err


def test_well_formed_billing_arguments_still_save_or_are_refused_by_a_rule(acme):
    assert rollcall(acme, "billing", "configure", "--user-price", "10", "--currency", "eur",
                    "--timezone", "Europe/Paris", "--actor", SAM).code == 0
    stranger = rollcall(acme, "billing", "configure", "--user-price", "12",
                        "--actor", "nobody@example.com")
    assert stranger.code == 1 and "not a Rollcall user" in stranger.err


# --- configuration gaps: once at start, never per event ---------------------------------

def test_a_refused_last_super_attempt_says_only_the_refusal(acme):
    for _ in range(2):
        ran = rollcall(acme, "users", "deactivate", SAM, "--remove-admin", "--actor", SAM)
        assert ran.code == 1 and len(ran.lines) == 1, ran.err
        assert "no channel is configured" not in ran.err


def test_clock_names_each_missing_channel_once(acme):
    ran = rollcall(acme, "clock", "--once")
    assert ran.code == 0
    assert ran.err.count("ROLLCALL_BILLING_CHANNEL is not set") == 1
    assert ran.err.count("ROLLCALL_APPROVALS_CHANNEL is not set") == 1
    quiet = rollcall(acme, "clock", "--once", ROLLCALL_BILLING_CHANNEL="C1",
                     ROLLCALL_APPROVALS_CHANNEL="C2")
    assert quiet.code == 0 and "CHANNEL" not in quiet.err
