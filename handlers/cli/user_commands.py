"""`rollcall users list|import|export`.

`users import --json` prints one JSON document on stdout whatever happens: the result,
the dry run's report, or `{"ok": false, "error": ..., "problems": [...]}` with exit 1
(a refused import, a file that cannot be read as the CSV Rollcall takes, a refused
actor; 2 for a bad setting, as `main` says). Without `--json`, a refusal is a sentence on
stderr, as everywhere.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from billing.model import Level, Status
from billing.money import format_money
from bot import services
from bot.errors import DatabaseSettingError, InvalidInput, RollcallError, UsageError
from bot.plural import count
from bot.services import Context, Via
from bot.services.hints import level_hint
from bot.services.import_report import ImportRefused, ImportReport
from bot.services.queries import user_listing
from handlers.cli.tables import table


class Answered(Exception):
    """The command's answer is `text` on stdout, and its exit code is `code`."""

    def __init__(self, text: str, code: int) -> None:
        super().__init__(text)
        self.text, self.code = text, code


def user_list(args: argparse.Namespace, ctx: Context) -> str:
    status = None if args.status == "all" else Status(args.status)
    listing = user_listing(ctx, actor=args.actor, status=status)
    if args.json:
        return json.dumps([u.user_json() for u in listing.users], indent=2)
    head = f"Total Active Users: {listing.total_active:,}"
    if not listing.users:
        return f"{head}\nNo {'' if status is None else status.value + ' '}users to show."
    rows = [(u.email, u.name, u.status.value, ",".join(u.projects) or "-")
            for u in listing.users]
    return f"{head}\n" + table(("EMAIL", "NAME", "STATUS", "PROJECTS"), rows)


def export(args: argparse.Namespace, ctx: Context) -> str:
    return services.export_csv(services.list_users(ctx, actor=args.actor)).rstrip("\n")


def import_file(args: argparse.Namespace, ctx: Context) -> str:
    try:
        return _dry_run(args, ctx) if args.dry_run else _import(args, ctx)
    except RollcallError as exc:
        if not args.json:
            raise
        problems = exc.problems if isinstance(exc, ImportRefused) else []
        error = exc.for_operator().split("\n", 1)[0]
        code = 2 if isinstance(exc, UsageError | DatabaseSettingError) else 1  # as `main`
        raise Answered(_json({"ok": False, "error": error, "problems": _rows(problems)}),
                       code) from exc


def _import(args: argparse.Namespace, ctx: Context) -> str:
    data = _read(args.file)
    with args.progress.task("Importing") as report:
        done = services.import_users(ctx, actor=args.actor, via=Via.CLI, data=data,
                                     update=args.update, progress=report)
    if args.json:
        return _json(done.as_json())
    hint = ["Add --update to change those users as their rows say."] if done.left_alone else []
    return "\n".join([done.message, *done.notes, *hint])


def _dry_run(args: argparse.Namespace, ctx: Context) -> str:
    data = _read(args.file)
    with args.progress.task("Checking") as report:
        found = services.check_import(ctx, actor=args.actor, data=data, update=args.update,
                                      progress=report)
    seats = found.active_seats
    if args.json:
        doc = _report_json(found)
        if found.problems:
            doc["error"] = f"Dry run: {_problem_rows(found)}; nothing was changed."
            raise Answered(_json(doc), 1)
        return _json(doc)
    if found.problems:
        raise InvalidInput("\n".join([f"{_problem_rows(found)}:", found.text(), *found.notes,
                                      "Dry run: nothing was changed."]))
    if not found.checked:
        raise InvalidInput("The CSV has a header but no rows to import; add one row a user "
                           "below the header.")
    lines = [*found.notes, *found.change_lines()]
    if found.changes and not found.update:
        lines.append("Add --update to change those users as their rows say.")
    valid = (f"All {count(found.checked, 'row')} are valid" if found.checked != 1
             else "The 1 row is valid")
    lines.insert(0, f"{valid}: {found.summary()}")
    if seats:
        hint = level_hint(ctx, email=None, level=Level.NONE)
        lines.append(f"Importing {count(seats, 'active user')}: this cycle "
                     f"{format_money(hint.this_cycle * seats, hint.currency)}, next cycle "
                     f"{format_money(hint.next_cycle * seats, hint.currency)}.")
    return "\n".join([*lines, "Dry run: nothing was changed."])


def _problem_rows(found: ImportReport) -> str:
    rows = len({n for n, _ in found.problems})
    return f"{count(rows, 'row')} of {found.checked:,} {'has' if rows == 1 else 'have'} problems"


def _report_json(found: ImportReport) -> dict[str, Any]:
    return {"ok": not found.problems, "dry_run": True, "rows": found.checked,
            "valid": len(found.rows), "new": len(found.new), "active": found.active_seats,
            "unchanged": found.unchanged, "update": found.update,
            "changes": [c.as_json() for c in found.changes],
            "problems": _rows(found.problems), "notes": found.notes}


def _rows(problems: list[tuple[int, str]]) -> list[dict[str, Any]]:
    return [{"row": n, "problem": p} for n, p in problems]


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.") from exc


HANDLERS = {
    ("users", "list"): user_list,
    ("users", "import"): import_file,
    ("users", "export"): export,
}
