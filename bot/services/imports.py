"""CSV import and export of users.

Import columns: `email`, `first_name`, `last_name` (required), `projects` (keys separated
by `;` or spaces) and `status` (`active` default, `pending` or `deactivated`) optional, so an export
imports as it is. The export neutralises cells a spreadsheet would run as formulas and the
import restores them (bot/csv_cells.py), so the round trip is exact. A dry run checks
every row and reports each problem by its row number in the file (the header is row 1);
a real import creates every row in one transaction, or nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from billing.model import Status
from bot.csv_cells import csv_text, restore
from bot.errors import Conflict, InvalidInput, PermissionDenied
from bot.rules import require_user_creator
from bot.services.context import Context, Via, load_actor, reading, record_each, refusing, writing
from bot.services.users import new_password_hash, require_no_seat_approval
from bot.services.views import UserView, user_view
from bot.validation import clean_email, clean_name, clean_project_key, email_key
from store import repository
from store.models import User

REQUIRED = ("email", "first_name", "last_name")
OPTIONAL = ("projects", "status")
MAX_ROWS = 50_000
IMPORT_STATUSES = ("active", "pending", "deactivated")


@dataclass(frozen=True)
class Row:
    number: int
    email: str
    first_name: str
    last_name: str
    projects: tuple[str, ...]
    status: Status


@dataclass
class ImportReport:
    rows: list[Row] = field(default_factory=list)  # the rows that parsed
    checked: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(f"row {n}: {message}" for n, message in self.problems)


def parse_csv(data: bytes) -> tuple[list[Row], list[tuple[int, str]]]:
    """Decode and check each row's own fields; problems are (row number, sentence)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"The file is not UTF-8 text (byte {exc.start}); save it as "
                           "CSV UTF-8 and try again.") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(f"The CSV has no {', '.join(missing)} column; its header row must "
                           f"name {', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)}).")
    reader.fieldnames = header
    rows, problems = [], []
    try:
        for raw in reader:
            if reader.line_num > MAX_ROWS + 1:
                raise InvalidInput(f"The CSV has more than {MAX_ROWS:,} rows; split it.")
            try:
                rows.append(_row(reader.line_num, raw))
            except InvalidInput as exc:
                problems.append((reader.line_num, str(exc)))
    except csv.Error as exc:
        raise InvalidInput(f"Row {reader.line_num} is not valid CSV ({exc}).") from exc
    return rows, problems


def _row(number: int, raw: dict[str | None, object]) -> Row:
    if raw.get(None):
        raise InvalidInput("it has more cells than the header has columns.")

    def cell(column: str) -> str:  # as written before `export_csv` neutralised it
        return restore(str(raw.get(column) or ""))

    status_text = (cell("status") or "active").strip().lower()
    if status_text not in IMPORT_STATUSES:
        allowed = ", ".join(IMPORT_STATUSES)
        raise InvalidInput(f"status {status_text[:20]!r} is not one of {allowed}.")
    projects = re.split(r"[;\s]+", cell("projects").strip())
    return Row(
        number=number,
        email=clean_email(cell("email")),
        first_name=clean_name(cell("first_name"), "First name"),
        last_name=clean_name(cell("last_name"), "Last name"),
        projects=tuple(sorted({clean_project_key(p) for p in projects if p})),
        status=Status(status_text),
    )


def check_import(ctx: Context, *, actor: str, data: bytes) -> ImportReport:
    """Dry run: every problem of every row, nothing changed."""
    rows, problems = parse_csv(data)
    checked = len(rows) + len({n for n, _ in problems})
    with reading(ctx) as session:
        problems += _check_against_store(session, actor, rows)
    return ImportReport(rows=rows, checked=checked, problems=sorted(problems))


def _check_against_store(
    session: Session, actor: str, rows: Sequence[Row]
) -> list[tuple[int, str]]:
    _, who = load_actor(session, actor)
    known = repository.projects_by_key(session, {k for r in rows for k in r.projects})
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for row in rows:
        key = email_key(row.email)
        if key in seen:
            problems.append((row.number, f"{row.email} repeats row {seen[key]}."))
        seen.setdefault(key, row.number)
        if repository.live_user_by_email_key(session, key) is not None:
            problems.append((row.number, f"{row.email} is already a user."))
        unknown = [k for k in row.projects if k not in known]
        if unknown:
            problems.append((row.number, f"no project has the key {', '.join(unknown)}."))
        try:
            require_user_creator(who, row.projects, f"{row.first_name} {row.last_name}")
        except PermissionDenied as exc:
            problems.append((row.number, str(exc)))
    return problems


@refusing("users.import")
def import_users(ctx: Context, *, actor: str, via: Via, data: bytes) -> list[UserView]:
    """All or nothing: any problem refuses the whole file with the dry run's report."""
    rows, problems = parse_csv(data)
    if problems:
        raise InvalidInput("Nothing was imported:\n" + ImportReport(problems=problems).text())
    if not rows:
        raise InvalidInput("The CSV has a header but no rows to import.")
    hashes = [new_password_hash(ctx) for _ in rows]
    with writing(ctx) as (session, now):
        problems = _check_against_store(session, actor, rows)
        if problems:
            report = ImportReport(problems=sorted(problems))
            raise Conflict("Nothing was imported:\n" + report.text())
        actor_user, who = load_actor(session, actor)
        seats = sum(r.status is Status.ACTIVE for r in rows)
        if seats:  # the seat approval policy covers imports too
            require_no_seat_approval(session, who, f"Importing {seats} active users")
        projects = repository.projects_by_key(session, {k for r in rows for k in r.projects})
        users = [
            User(first_name=r.first_name, last_name=r.last_name, email=r.email,
                 email_key=email_key(r.email), status=r.status.value, password_hash=h,
                 created_at=now, projects=[projects[k] for k in r.projects])
            for r, h in zip(rows, hashes, strict=True)
        ]
        session.add_all(users)
        session.flush()
        record_each(session, [(user, None) for user in users], at=now, via=via,
                    action="user.create", actor=actor_user)
    return [user_view(u) for u in users]


EXPORT_COLUMNS = ("email", "first_name", "last_name", "status", "projects")


def export_csv(users: Sequence[UserView]) -> str:
    """The import's own format, so an export can be imported elsewhere; cells that a
    spreadsheet would run as formulas get a leading `'`, which the import removes."""
    return csv_text([EXPORT_COLUMNS, *(
        (u.email, u.first_name, u.last_name, u.status.value, ";".join(u.projects))
        for u in users)])
