"""Onboarding (issue 10): one way to create users whatever the entry point, imports that
stay all or nothing at any size, and progress on long commands."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from sqlalchemy import select

from billing.model import Level
from bot import services
from bot.errors import InvalidInput
from bot.services import Via
from bot.services import approvals as ap
from bot.services.billing import configure_billing, invoice_on
from bot.services.imports import parse_csv
from bot.services.users import NewUser
from handlers.cli import main
from store.models import AuditEvent, StatePeriod, User
from tests.helpers import store_state

SAM = "sam@example.com"
HEADER = "email,first_name,last_name,projects\n"


def csv_file(tmp_path, text, name="users.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def run(ctx, *argv, tty=False):
    class Terminal(io.StringIO):
        def isatty(self):
            return tty

    out, err = Terminal(), io.StringIO()
    code = main(list(argv), context=ctx, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def created(ctx, email):
    """What creating `email` left: its row, its audit event, its periods."""
    with ctx.uow as uow:
        s = uow.session
        user = s.scalar(select(User).where(User.email == email))
        event = s.scalar(select(AuditEvent).where(AuditEvent.subject_user_id == user.id,
                                                  AuditEvent.action == "user.create"))
        periods = s.execute(select(StatePeriod.status, StatePeriod.level,
                                   StatePeriod.effective).where(
            StatePeriod.user_id == user.id)).all()
        return {"hash": user.password_hash[:7], "projects": [p.key for p in user.projects],
                "status": user.status, "via": event.via, "after": event.after,
                "states": (event.status_after, event.level_after, event.effective_after),
                "periods": [tuple(p) for p in periods]}


def test_every_entry_point_creates_users_the_same_way(ctx, tmp_path):
    """`users add`, an import and an approved seat request leave the same rows, the same
    audit event and the same state period: there is one way to create a user."""
    services.add_project(ctx, actor=SAM, via=Via.CLI, key="alpha", name="Alpha")
    for email in ("pat@example.com",):
        services.create_user(ctx, actor=SAM, via=Via.CLI, email=email, first_name="Pat",
                             last_name="Lane", projects=["alpha"])
        services.set_admin(ctx, actor=SAM, via=Via.CLI, email=email, level=Level.ASSISTANT,
                           projects=["alpha"])
        services.login(ctx, via=Via.CLI, email=email)
    services.create_user(ctx, actor=SAM, via=Via.CLI, email="one@example.com",
                         first_name="One", last_name="Added", projects=["alpha"])
    code, _, err = run(ctx, "users", "import", csv_file(
        tmp_path, HEADER + "two@example.com,Two,Imported,alpha\n"), "--actor", SAM)
    assert code == 0, err
    ap.set_policy(ctx, actor=SAM, via=Via.CLI, seat_approval=True)
    asked = ap.request_seat(ctx, actor="pat@example.com", via=Via.SLACK,
                            new=NewUser.checked(
                                email="three@example.com", first_name="Three",
                                last_name="Approved", active=True, projects=["alpha"]))
    assert "Approved" in ap.approve(ctx, actor=SAM, via=Via.SLACK, request_id=asked.id)
    made = {email: created(ctx, email) for email in
            ("one@example.com", "two@example.com", "three@example.com")}
    for what in made.values():
        assert what["hash"] == "sha256$" and what["projects"] == ["alpha"]
        assert what["status"] == "active" and what["states"] == ("active", 0, 0)
        assert what["periods"] == [("active", 0, 0)]
        assert what["after"] == {"status": "active", "level": "none",
                                 "effective_level": "none", "scope": None,
                                 "projects": ["alpha"]}
    assert [m["via"] for m in made.values()] == ["cli", "cli", "slack"]
    code, out, _ = run(ctx, "db", "check")
    assert code == 0 and "match" in out


def test_quoted_cells_blank_rows_and_a_byte_order_mark(ctx, tmp_path):
    text = ("\ufeff" + HEADER + '"o@example.com","O""Brien, Jr.",Smith,\n'
            "\n,,,\n" + "p@example.com,Pat,Lane,\n,,,\n")
    code, out, err = run(ctx, "users", "import", csv_file(tmp_path, text), "--actor", SAM)
    assert code == 0 and "Imported 2 users" in out, err
    names = {u.email: u.first_name for u in services.list_users(ctx)}
    assert names["o@example.com"] == 'O"Brien, Jr.'


@pytest.mark.parametrize(("text", "words"), [
    (HEADER + 'a@example.com,"Open,Quote,\nb@example.com,B,C,\n', "Row 2 is not valid CSV"),
    (HEADER + "a@example.com,A,B,\nA@EXAMPLE.COM,A,B,\n", "row 3: A@example.com repeats row 2"),
    ("naam,voornaam\nx,y\n", "no email, first_name, last_name column"),
    ((HEADER + "é@example.com,Émile,Zola,\n").encode("latin-1"), "not UTF-8"),
])
def test_a_bad_file_imports_nothing(ctx, tmp_path, text, words):
    before = store_state(ctx)
    code, _, err = run(ctx, "users", "import", csv_file(tmp_path, text), "--actor", SAM)
    assert code == 1 and words in err, err
    assert store_state(ctx) == before


def test_a_hundred_thousand_rows_with_one_bad_row_import_nothing(empty_ctx, tmp_path):
    from bot.services import init_organization

    init_organization(empty_ctx, org_name="Acme", admin_email=SAM, admin_first_name="Sam",
                      admin_last_name="Stone")
    rows = "".join(f"user{n}@example.com,First{n},Last{n},\n" for n in range(99_999))
    text = HEADER + rows + "broken-email,Last,Row,\n"
    before = store_state(empty_ctx)
    code, _, err = run(empty_ctx, "users", "import", csv_file(tmp_path, text), "--actor", SAM)
    assert code == 1 and "row 100001: broken-email is not a valid email" in err
    assert store_state(empty_ctx) == before


def test_more_rows_than_the_limit_are_refused_before_anything_is_written():
    text = (HEADER + "".join(f"u{n}@example.com,U,N,\n" for n in range(11))).encode()
    assert len(parse_csv(text, max_rows=11)[0]) == 11
    with pytest.raises(InvalidInput, match="more than 10 rows; split it"):
        parse_csv(text, max_rows=10)


def test_progress_is_plain_lines_without_a_terminal_and_nothing_with_json(ctx, tmp_path):
    text = HEADER + "".join(f"u{n}@example.com,U,N,\n" for n in range(2_500))
    code, out, err = run(ctx, "users", "import", csv_file(tmp_path, text), "--actor", SAM)
    assert code == 0 and out == "Imported 2,500 users (2,500 active).\n"
    lines = err.splitlines()
    assert lines[-1] == "Importing: 2,500 of 2,500 rows (100%)"
    assert len(lines) <= 11 and all(line.startswith("Importing: ") for line in lines)
    again = HEADER + "".join(f"v{n}@example.com,V,N,\n" for n in range(50))
    code, out, err = run(ctx, "users", "import", csv_file(tmp_path, again, "b.csv"),
                         "--actor", SAM, "--json")
    assert code == 0 and err == ""
    assert json.loads(out) == {"ok": True, "created": 50, "active": 50, "unchanged": 0,
                               "updated": 0, "left_alone": 0, "notes": []}


def test_a_terminal_gets_a_progress_bar(ctx, tmp_path):
    text = HEADER + "".join(f"u{n}@example.com,U,N,\n" for n in range(1_500))
    code, out, err = run(ctx, "users", "import", csv_file(tmp_path, text), "--actor", SAM,
                         tty=True)
    assert code == 0 and out == "Imported 1,500 users (1,500 active).\n"
    assert "Importing" in err and "100%" in err and "1.50k/1.50k" in err  # tqdm's bar


def test_db_check_and_rebuild_show_their_progress(ctx):
    services.create_user(ctx, actor=SAM, via=Via.CLI, email="lee@example.com",
                         first_name="Lee", last_name="Park")
    code, out, err = run(ctx, "db", "rebuild-periods")
    assert code == 0 and "Folding: 1 of 1 steps (100%)" in err and "state periods" in out
    code, out, err = run(ctx, "db", "check")
    assert code == 0 and "Comparing: 1 of 1 steps (100%)" in err


def test_a_bulk_import_bills_like_users_added_one_by_one(ctx, tmp_path, clock):
    configure_billing(ctx, actor=SAM, via=Via.CLI, anchor=date(2025, 1, 1), user_price="10")
    text = HEADER + "".join(f"u{n}@example.com,U,N,\n" for n in range(1_200))
    assert run(ctx, "users", "import", csv_file(tmp_path, text), "--actor", SAM)[0] == 0
    preview = invoice_on(ctx).document
    assert preview["active_users"] == 1_201 and preview["total"] == "12010.00"
