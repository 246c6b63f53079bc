"""Messages that say what is true (issue 11), black box: `rollcall` as a subprocess on a
SQLite file, the way an admin runs it. Each asserts the exit code, that no traceback
reaches the person, and the sense of the message."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SAM = ("--actor", "sam@example.com")


@dataclass
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def rollcall(tmp_path: Path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'rollcall.db'}"}
    env.pop("SLACK_BOT_TOKEN", None)

    def run(*argv: str) -> Ran:
        done = subprocess.run([sys.executable, "-c", "import sys; from handlers.cli import main; "
                               "sys.exit(main())", *argv], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        ran = Ran(done.returncode, done.stdout, done.stderr)
        assert "Traceback" not in ran.out + ran.err, ran
        return ran

    assert run("init", "--org-name", "Acme", "--admin-email", "sam@example.com",
               "--admin-first-name", "Sam", "--admin-last-name", "Stone").code == 0
    return run


def test_activating_a_pending_user_does_not_say_again(rollcall):
    rollcall("users", "add", "--email", "new@example.com", "--first-name", "New",
             "--last-name", "Hire", "--inactive", *SAM)
    first = rollcall("users", "activate", "new@example.com", *SAM)
    assert first.code == 0 and "is active now" in first.out and "again" not in first.out
    rollcall("users", "deactivate", "new@example.com", *SAM)
    back = rollcall("users", "activate", "new@example.com", *SAM)
    assert back.code == 0 and "is active again" in back.out


def test_narrowing_the_last_super_says_narrowing(rollcall):
    rollcall("projects", "add", "alpha", "Alpha", *SAM)
    refused = rollcall("admins", "set", "sam@example.com", "super", "--projects", "alpha", *SAM)
    assert refused.code == 1
    assert "cannot narrow their scope to alpha" in refused.err
    assert "make them SUPER" not in refused.err


def test_a_pending_super_hears_their_role_applies_at_their_next_login(rollcall):
    rollcall("users", "add", "--email", "ada@example.com", "--first-name", "Ada",
             "--last-name", "Byron", *SAM)
    rollcall("admins", "set", "ada@example.com", "super", *SAM)
    asked = rollcall("users", "list", "--actor", "ada@example.com")
    assert asked.code == 1
    assert "applies at their next login" in asked.err and "give you an admin role" not in (
        asked.err)
    rollcall("users", "login", "ada@example.com")
    assert rollcall("users", "list", "--actor", "ada@example.com").code == 0


def test_a_prorated_line_shows_the_sum_it_is(rollcall):
    rollcall("billing", "configure", "--user-policy", "prorated", "--user-price", "10",
             "--currency", "EUR", *SAM)
    preview = rollcall("billing", "preview", *SAM)
    assert preview.code == 0
    line = next(ln for ln in preview.out.splitlines() if "prorated" in ln)
    # a cycle from today: every day of it counts, so D user-days x EUR 10.00 per D days
    days = line.split("of a ")[1].split("-day cycle")[0]
    assert line.endswith(f": {days} user-days x €10.00 per {days} days = €10.00"), line


def test_unset_prices_are_said_and_a_new_currency_restates_them(rollcall):
    preview = rollcall("billing", "preview", *SAM)
    assert preview.code == 0 and "No prices are set" in preview.out
    assert rollcall("billing", "configure", "--user-price", "10", *SAM).code == 0
    priced = rollcall("billing", "preview", *SAM)
    assert "No prices are set" not in priced.out
    refused = rollcall("billing", "configure", "--currency", "EUR", *SAM)
    assert refused.code != 0 and "restated in EUR" in refused.err and "user" in refused.err
    assert rollcall("billing", "configure", "--currency", "EUR", "--user-price", "9",
                    *SAM).code == 0
    assert "€9.00" in rollcall("billing", "preview", *SAM).out


def test_a_dry_run_of_a_refused_change_says_it_would_be_refused(rollcall):
    refused = rollcall("admins", "set", "sam@example.com", "view-only", "--dry-run", *SAM)
    assert refused.code == 1
    assert "would be refused now" in refused.err and "who can act now" in refused.err
    rollcall("users", "add", "--email", "lee@example.com", "--first-name", "Lee",
             "--last-name", "Park", *SAM)
    fine = rollcall("admins", "set", "lee@example.com", "assistant", "--dry-run", *SAM)
    assert fine.code == 0 and "refused" not in fine.out
    listed = rollcall("admins", "list", "--json")
    assert "lee@example.com" not in listed.out  # a dry run changes nothing
