"""Each CLI command calls one service and prints its outcome."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from billing.model import Level, Status
from billing.money import format_money
from bot import services
from bot.bootstrap import upgrade_schema
from bot.cli import billing_commands
from bot.cli.progress import Progress
from bot.errors import InvalidInput
from bot.services import Context, Via, maintenance
from bot.services.approvals import set_policy
from bot.services.hints import level_hint
from bot.services.queries import check_admin_change
from bot.services.scheduled import schedule_change

CLI = Via.CLI
Handler = Callable[[argparse.Namespace, Context], str]


def dispatch(args: argparse.Namespace, ctx: Context, out: TextIO,
             err: TextIO | None = None) -> None:
    command = args.command
    action = getattr(args, f"{command}_command", None)
    handler = HANDLERS[(command, action)]
    args.progress = Progress(out, err or sys.stderr, quiet=getattr(args, "json", False))
    result = handler(args, ctx)
    if result:
        print(result, file=out)


def _init(args: argparse.Namespace, ctx: Context) -> str:
    upgrade_schema(ctx)
    admin = services.init_organization(
        ctx, org_name=args.org_name, admin_email=args.admin_email,
        admin_first_name=args.admin_first_name, admin_last_name=args.admin_last_name,
        admin_slack_user_id=args.admin_slack_user_id,
    )
    return f"Rollcall is ready: {admin.name} ({admin.email}) is SUPER over all projects."


def _clock(args: argparse.Namespace, ctx: Context) -> str:
    """The scheduler alone: pending migrations first, then every minute (or once)."""
    from bot import scheduler
    from bot.settings import load_settings
    from handlers.app import slack_client

    settings = load_settings()
    upgrade_schema(ctx)
    client = slack_client(settings) if settings.slack_bot_token else None
    if client is None:
        print("rollcall: SLACK_BOT_TOKEN is not set; posts stay in the outbox until it is.",
              file=sys.stderr)
    if args.once:
        done = scheduler.reconcile(ctx, client)
        return (f"Closed {len(done.closed)} cycles, recorded {len(done.recorded)} posts, "
                f"sent {done.posted}.")
    scheduler.run_forever(ctx, client)
    return ""


def _approval_policy(args: argparse.Namespace, ctx: Context) -> str:
    seats = None if args.seat_approval is None else args.seat_approval == "on"
    return set_policy(ctx, actor=args.actor, via=CLI, cost_threshold=args.cost_threshold,
                      expiry_hours=args.expiry_hours, seat_approval=seats)


def _db_upgrade(args: argparse.Namespace, ctx: Context) -> str:
    upgrade_schema(ctx)
    return "The database schema is up to date."


def _db_check(args: argparse.Namespace, ctx: Context) -> str:
    with args.progress.task("Comparing", unit="steps") as report:
        return maintenance.check_periods(ctx, progress=report)


def _db_rebuild_periods(args: argparse.Namespace, ctx: Context) -> str:
    with args.progress.task("Folding", unit="steps") as report:
        return maintenance.rebuild_periods(ctx, via=CLI, progress=report)


def _user_add(args: argparse.Namespace, ctx: Context) -> str:
    user = services.create_user(
        ctx, actor=args.actor, via=CLI, email=args.email, first_name=args.first_name,
        last_name=args.last_name, active=not args.inactive, projects=args.project,
    )
    return f"Created {user.name} ({user.email}), {user.status.value}."


def _on_user(service: Callable[..., services.Outcome]) -> Handler:
    """Commands of the form `VERB EMAIL --actor A` that return an Outcome."""

    def run(args: argparse.Namespace, ctx: Context) -> str:
        extra = {"remove_admin": args.remove_admin} if hasattr(args, "remove_admin") else {}
        return service(ctx, actor=args.actor, via=CLI, email=args.email, **extra).message

    return run


def _login(args: argparse.Namespace, ctx: Context) -> str:
    return services.login(ctx, via=CLI, email=args.email).message


def _user_list(args: argparse.Namespace, ctx: Context) -> str:
    status = Status(args.status) if args.status else None
    users = services.list_users(ctx, actor=args.actor, status=status)
    if args.json:
        return json.dumps([u.user_json() for u in users], indent=2)
    active = sum(u.status is Status.ACTIVE for u in users)
    rows = [(u.email, u.name, u.status.value, ",".join(u.projects) or "-") for u in users]
    return f"Total Active Users: {active}\n" + _table(("EMAIL", "NAME", "STATUS", "PROJECTS"), rows)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}.") from exc


def _import(args: argparse.Namespace, ctx: Context) -> str:
    data = _read(args.file)
    if args.dry_run:
        with args.progress.task("Checking") as report:
            found = services.check_import(ctx, actor=args.actor, data=data, progress=report)
        if args.json:
            text = json.dumps({"rows": found.checked, "valid": len(found.rows),
                               "active": found.active_seats,
                               "problems": [{"row": n, "problem": p} for n, p in found.problems]})
        else:
            text = found.text() or f"All {found.checked:,} rows are valid; nothing was changed."
            seats = found.active_seats
            if seats and not found.problems:
                hint = level_hint(ctx, email=None, level=Level.NONE)
                cur = hint.currency
                text += (f"\nImporting {seats:,} active users: this cycle "
                         f"{format_money(hint.this_cycle * seats, cur)}, next cycle "
                         f"{format_money(hint.next_cycle * seats, cur)}.")
        if found.problems:
            raise InvalidInput(f"{text}\nDry run: nothing was changed.")
        return text
    with args.progress.task("Importing") as report:
        done = services.import_users(ctx, actor=args.actor, via=CLI, data=data, progress=report)
    if args.json:
        return json.dumps({"created": done.created, "active": done.active})
    return done.message


def _export(args: argparse.Namespace, ctx: Context) -> str:
    return services.export_csv(services.list_users(ctx, actor=args.actor)).rstrip("\n")


def _admin_set(args: argparse.Namespace, ctx: Context) -> str:
    scope = args.projects.strip()
    projects = None if scope.lower() == "all" else [k for k in scope.split(",") if k.strip()]
    if args.dry_run:  # the hint names the user: only for an actor who may change them
        check_admin_change(ctx, actor=args.actor, email=args.email,
                           level=Level.parse(args.level), projects=projects)
        return level_hint(ctx, email=args.email, level=Level.parse(args.level)).message
    if args.at_cycle_end:
        change = schedule_change(ctx, actor=args.actor, via=CLI, email=args.email,
                                 level=Level.parse(args.level), projects=projects)
        return f"Scheduled: {change.describe()}."
    return services.set_admin(ctx, actor=args.actor, via=CLI, email=args.email,
                              level=Level.parse(args.level), projects=projects).message


def _admin_list(args: argparse.Namespace, ctx: Context) -> str:
    admins = services.list_admins(ctx, actor=args.actor)
    if args.json:
        return json.dumps([a.admin_json() for a in admins], indent=2)
    rows = [(a.email, a.level.label, a.effective_level.label, "yes" if a.pending else "no",
             a.acting_level.label, a.scope.describe() if a.scope else "-") for a in admins]
    return _table(("EMAIL", "LEVEL", "EFFECTIVE", "PENDING", "ACTS AS NOW", "PROJECTS"), rows)


def _project_add(args: argparse.Namespace, ctx: Context) -> str:
    return services.add_project(ctx, actor=args.actor, via=CLI, key=args.key, name=args.name)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in [header, *rows])


HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("init", None): _init,
    ("db", "upgrade"): _db_upgrade,
    ("db", "check"): _db_check,
    ("db", "rebuild-periods"): _db_rebuild_periods,
    ("clock", None): _clock,
    ("approvals", "policy"): _approval_policy,
    ("projects", "add"): _project_add,
    ("users", "add"): _user_add,
    ("users", "activate"): _on_user(services.activate_user),
    ("users", "deactivate"): _on_user(services.deactivate_user),
    ("users", "delete"): _on_user(services.delete_user),
    ("users", "login"): _login,
    ("users", "list"): _user_list,
    ("users", "import"): _import,
    ("users", "export"): _export,
    ("admins", "set"): _admin_set,
    ("admins", "remove"): _on_user(services.remove_admin),
    ("admins", "apply"): _on_user(services.apply_now),
    ("admins", "list"): _admin_list,
    **billing_commands.HANDLERS,
}
