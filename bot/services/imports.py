"""CSV import and export of users.

The file's format and its reading are bot/services/csv_rows.py. A dry run checks every
row and reports each problem by its row number in the file (the header is row 1); a real
import creates every new row in one transaction, or nothing. A row that names a user who
exists already is left alone (unchanged), or changed with `update=True` through the rules
of a single change (bot/services/import_matches.py), so an export imports as it is, into
another organization or back into its own. The export neutralises cells a spreadsheet
would run as formulas and the import restores them (bot/csv_cells.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.model import Status
from bot.csv_cells import csv_text
from bot.errors import AlreadyImported, InvalidInput, PermissionDenied
from bot.plural import count
from bot.rules import Actor, require_manager_level, require_user_creator
from bot.services import import_matches as matches
from bot.services.actors import load_actor
from bot.services.audit import record
from bot.services.context import Context, Hasher, Via
from bot.services.csv_rows import CsvFile, Row, read_csv
from bot.services.csv_rows import parse_csv as parse_csv  # re-exported (approvals)
from bot.services.import_report import ImportRefused, ImportReport, ImportResult
from bot.services.refusals import refusing
from bot.services.transactions import reading, writing
from bot.services.users import NewUser, Progress, add_users, require_no_seat_approval
from bot.services.views import UserView
from bot.validation import email_key
from store import bulk, repository
from store.models import AuditEvent, User


def check_import(ctx: Context, *, actor: str, data: bytes, update: bool = False,
                 progress: Progress | None = None) -> ImportReport:
    """Dry run: every problem of every row, and what each good row would do; nothing
    changed."""
    found = read_csv(data)
    with reading(ctx) as session:
        _, acting = load_actor(session, actor)
        return check_in(session, acting, found, update=update, progress=progress)


def check_in(session: Session, acting: Actor, found: CsvFile, *, update: bool = False,
             progress: Progress | None = None) -> ImportReport:
    """The dry run of a file already read, inside the caller's transaction (also what a
    request for an import checks, in the transaction that makes it)."""
    report = ImportReport(rows=found.rows, problems=found.problems, notes=found.notes,
                          update=update, checked=len(found.rows)
                          + len({n for n, _ in found.problems}))
    require_manager_level(acting)
    _plan(session, acting, found.rows, report, progress)
    report.problems.sort()
    return report


def _plan(session: Session, acting: Actor, rows: Sequence[Row], report: ImportReport,
          progress: Progress | None = None) -> dict[int, int]:
    """What only the store can say: repeated emails, unknown projects, whether the actor
    may create each new row, which rows match a user (and how they differ, and whether
    an update may change them). Emails are looked up a batch at a time. Returns the
    matched users' ids by row number."""
    known = repository.projects_by_key(session, {k for r in rows for k in r.projects})
    problems, seen, ids = report.problems, {}, {}
    done = 0
    for batch in bulk.batches(rows):
        existing = matches.existing_users(session, [email_key(r.email) for r in batch])
        for row in batch:
            key = email_key(row.email)
            if key in seen:
                problems.append((row.number, f"{row.email} repeats row {seen[key]}."))
            seen.setdefault(key, row.number)
            unknown = [k for k in row.projects if k not in known]
            if unknown:
                problems.append((row.number, f"no project has the key {', '.join(unknown)}."))
            user = existing.get(key)
            problem = _new_problem(acting, row) if user is None else _match(acting, user, row,
                                                                       report)
            if problem:
                problems.append((row.number, problem))
            elif user is None:
                report.new.append(row)
            else:
                ids[row.number] = user.id
        done += len(batch)
        if progress is not None:
            progress(done, len(rows))
    return ids


def _new_problem(acting: Actor, row: Row) -> str | None:
    try:
        require_user_creator(acting, row.projects, f"{row.first_name} {row.last_name}")
    except PermissionDenied as exc:
        return str(exc)
    return None


def _match(acting: Actor, user: matches.Existing, row: Row, report: ImportReport) -> str | None:
    """A row naming an existing user: unchanged, differing, or a problem."""
    if not acting.scope.includes_user(user.projects):
        return (f"{row.email} is already a user, outside {acting.name}'s scope; remove this "
                "row, or ask an admin whose scope covers them.")
    change = matches.difference(user, row)
    if change is None:
        report.unchanged += 1
        return None
    problem = matches.update_problem(acting, user, row, change) if report.update else None
    if problem is None:
        report.changes.append(change)
    return problem


@refusing("users.import")
def import_users(ctx: Context, *, actor: str, via: Via, data: bytes, source: str | None = None,
                 update: bool = False, progress: Progress | None = None) -> ImportResult:
    """All or nothing: any problem refuses the whole file with the dry run's report.

    `source` names the file (a Slack file id and digest): the same source is imported
    once, so a double click or a retry creates nobody twice. `update` changes the users
    that rows differ from. `progress(done, total)` is told as rows are checked and
    written."""
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        return import_in(session, now, acting_user, acting, via, data, source,
                         hasher=ctx.hasher, update=update, progress=progress)


def import_in(session: Session, now: datetime, acting_user: User, acting: Actor, via: Via,
              data: bytes, source: str | None, *, hasher: Hasher, update: bool = False,
              progress: Progress | None = None) -> ImportResult:
    """The import inside the caller's transaction (also run by an approved request)."""
    if source is not None and _imported(session, source):
        raise AlreadyImported("This file was already imported; nobody was created twice.")
    found = read_csv(data)
    if found.problems:
        raise ImportRefused(found.problems)
    if not found.rows:
        raise InvalidInput("The CSV has a header but no rows to import; add one row a user "
                           "below the header.")
    require_manager_level(acting)
    # checking the rows is the first half of the work, writing them the second
    half = (lambda done, total: progress(done // 2, total)) if progress else None
    report = ImportReport(rows=found.rows, update=update)
    ids = _plan(session, acting, found.rows, report, half)
    if report.problems:
        raise ImportRefused(report.problems)
    seats = report.active_seats
    if seats:  # the seat approval policy covers imports too
        require_no_seat_approval(session, acting, f"Importing {count(seats, 'active user')}")
    news = [NewUser(r.email, r.first_name, r.last_name, r.status is Status.ACTIVE,
                    r.projects, status=r.status) for r in report.new]
    changes = report.changes if update else []
    total, work = len(found.rows), max(1, len(news) + len(changes))

    def written(done: int, _: int = 0) -> None:  # the second half: new users, then updates
        if progress is not None:
            progress((total + total * done // work) // 2, total)

    add_users(session, now, acting_user, via, news, hasher, progress=written)
    matches.apply_updates(session, now, acting_user, acting, via, changes, ids,
                          {r.number: r for r in found.rows},
                          lambda done: written(len(news) + done))
    result = ImportResult(len(news), sum(n.active for n in news), report.unchanged,
                          len(report.changes) if update else 0,
                          0 if update else len(report.changes), tuple(found.notes))
    record(session, at=now, via=via, action="users.import", actor=acting_user, subject=None,
           before=None, reason=_reason(source, result))
    return result


def _reason(source: str | None, result: ImportResult) -> str:
    head = f"source {source}: " if source else ""
    more = "".join(f", {n} {what}" for n, what in ((result.unchanged, "unchanged"),
                                                   (result.updated, "updated")) if n)
    return f"{head}{result.created} users ({result.active} active){more}"


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
