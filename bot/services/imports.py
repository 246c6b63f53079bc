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
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.model import Status
from bot.csv_cells import csv_text, restore
from bot.errors import AlreadyImported, Conflict, InvalidInput, PermissionDenied
from bot.rules import Actor, require_user_creator
from bot.services.context import (
    Context,
    Hasher,
    Via,
    load_actor,
    reading,
    record,
    refusing,
    writing,
)
from bot.services.users import NewUser, Progress, add_users, require_no_seat_approval
from bot.services.views import UserView
from bot.validation import clean_email, clean_name, clean_project_key, email_key
from store import bulk, repository
from store.models import AuditEvent, User

REQUIRED = ("email", "first_name", "last_name")
OPTIONAL = ("projects", "status")
MAX_ROWS = 100_000
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

    @property
    def active_seats(self) -> int:
        """How many rows would be active users (each takes a seat)."""
        return sum(r.status is Status.ACTIVE for r in self.rows)


@dataclass(frozen=True)
class ImportResult:
    created: int
    active: int

    @property
    def message(self) -> str:
        return f"Imported {self.created:,} users ({self.active:,} active)."


def parse_csv(data: bytes, max_rows: int = MAX_ROWS) -> tuple[list[Row], list[tuple[int, str]]]:
    """Decode and check each row's own fields; problems are (row number, sentence)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"The file is not UTF-8 text (byte {exc.start}); save it as "
                           "CSV UTF-8 and try again.") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(f"The CSV has no {', '.join(missing)} column; its header row must "
                           f"name {', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)}).")
    reader.fieldnames = header
    rows, problems = [], []
    try:
        for raw in reader:
            if reader.line_num > max_rows + 1:
                raise InvalidInput(f"The CSV has more than {max_rows:,} rows; split it.")
            if not any(str(v or "").strip() for v in raw.values()):
                continue  # a blank row (spreadsheets leave them at the end): nothing to do
            try:
                rows.append(_row(reader.line_num, raw))
            except InvalidInput as exc:
                problems.append((reader.line_num, str(exc)))
    except csv.Error as exc:
        # the row that could not be read starts after the last one read
        raise InvalidInput(f"Row {reader.line_num + 1} is not valid CSV ({exc}); check its "
                           "quotes: a quoted cell must end with a quote.") from exc
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


def check_import(ctx: Context, *, actor: str, data: bytes,
                 progress: Progress | None = None) -> ImportReport:
    """Dry run: every problem of every row, nothing changed."""
    rows, problems = parse_csv(data)
    checked = len(rows) + len({n for n, _ in problems})
    with reading(ctx) as session:
        _, who = load_actor(session, actor)
        problems += _check_against_store(session, who, rows, progress)
    return ImportReport(rows=rows, checked=checked, problems=sorted(problems))


def _check_against_store(session: Session, who: Actor, rows: Sequence[Row],
                         progress: Progress | None = None) -> list[tuple[int, str]]:
    """What only the store can say: repeated or taken emails, unknown projects, and
    whether the actor may create each row. Emails are looked up a batch at a time."""
    known = repository.projects_by_key(session, {k for r in rows for k in r.projects})
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    done = 0
    for batch in bulk.batches(rows):
        taken = repository.live_email_keys(session, [email_key(r.email) for r in batch])
        for row in batch:
            key = email_key(row.email)
            if key in seen:
                problems.append((row.number, f"{row.email} repeats row {seen[key]}."))
            seen.setdefault(key, row.number)
            if key in taken:
                problems.append((row.number, f"{row.email} is already a user."))
            unknown = [k for k in row.projects if k not in known]
            if unknown:
                problems.append((row.number, f"no project has the key {', '.join(unknown)}."))
            try:
                require_user_creator(who, row.projects, f"{row.first_name} {row.last_name}")
            except PermissionDenied as exc:
                problems.append((row.number, str(exc)))
        done += len(batch)
        if progress is not None:
            progress(done, len(rows))
    return problems


@refusing("users.import")
def import_users(ctx: Context, *, actor: str, via: Via, data: bytes, source: str | None = None,
                 progress: Progress | None = None) -> ImportResult:
    """All or nothing: any problem refuses the whole file with the dry run's report.

    `source` names the file (a Slack file id and digest): the same source is imported
    once, so a double click or a retry creates nobody twice. `progress(done, total)` is
    told as rows are checked and created."""
    with writing(ctx) as (session, now):
        actor_user, who = load_actor(session, actor)
        return import_in(session, now, actor_user, who, via, data, source,
                         hasher=ctx.hasher, progress=progress)


def import_in(session: Session, now: datetime, actor_user: User, who: Actor, via: Via,
              data: bytes, source: str | None, *, hasher: Hasher,
              progress: Progress | None = None) -> ImportResult:
    """The import inside the caller's transaction (also run by an approved request)."""
    if source is not None and _imported(session, source):
        raise AlreadyImported("This file was already imported; nobody was created twice.")
    rows, problems = parse_csv(data)
    if problems:
        raise InvalidInput("Nothing was imported:\n" + ImportReport(problems=problems).text())
    if not rows:
        raise InvalidInput("The CSV has a header but no rows to import.")
    # checking the rows is the first half of the work, creating them the second
    half = (lambda done, total: progress(done // 2, total)) if progress else None
    problems = _check_against_store(session, who, rows, half)
    if problems:
        report = ImportReport(problems=sorted(problems))
        raise Conflict("Nothing was imported:\n" + report.text())
    seats = sum(r.status is Status.ACTIVE for r in rows)
    if seats:  # the seat approval policy covers imports too
        require_no_seat_approval(session, who, f"Importing {seats} active users")
    news = [NewUser(r.email, r.first_name, r.last_name, r.status is Status.ACTIVE,
                    r.projects, status=r.status) for r in rows]
    created = (lambda done, total: progress((total + done) // 2, total)) if progress else None
    add_users(session, now, actor_user, via, news, hasher, progress=created)
    record(session, at=now, via=via, action="users.import", actor=actor_user, subject=None,
           before=None, reason=_reason(source, len(rows), seats))
    return ImportResult(len(rows), seats)


def _reason(source: str | None, rows: int, active: int) -> str:
    head = f"source {source}: " if source else ""
    return f"{head}{rows} users ({active} active)"


def _imported(session: Session, source: str) -> bool:
    """Whether an import of this source was recorded (under the writers' lock)."""
    return session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "users.import", AuditEvent.outcome == "ok",
        AuditEvent.reason.startswith(f"source {source}: ", autoescape=True)).limit(1)
    ) is not None


EXPORT_COLUMNS = ("email", "first_name", "last_name", "status", "projects")


def export_csv(users: Sequence[UserView]) -> str:
    """The import's own format, so an export can be imported elsewhere; cells that a
    spreadsheet would run as formulas get a leading `'`, which the import removes."""
    return csv_text([EXPORT_COLUMNS, *(
        (u.email, u.first_name, u.last_name, u.status.value, ";".join(u.projects))
        for u in users)])
