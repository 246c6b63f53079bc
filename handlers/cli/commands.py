"""Each CLI command calls one service and prints its outcome."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TextIO

from billing.model import Level
from bot import services
from bot.bootstrap import upgrade_schema
from bot.errors import InvalidInput
from bot.services import Context, Via, maintenance
from bot.services.admins import refusal_of_change
from bot.services.approvals import set_policy
from bot.services.hints import level_hint
from bot.services.queries import check_admin_change
from bot.services.scheduled import schedule_change
from handlers.cli import (
    admin_commands,
    billing_commands,
    scim_commands,
    settings_commands,
    user_commands,
)
from handlers.cli.progress import Progress
from handlers.cli.user_commands import Answered

CLI = Via.CLI
Handler = Callable[[argparse.Namespace, Context], str]


def dispatch(args: argparse.Namespace, ctx: Context, out: TextIO,
             err: TextIO | None = None) -> None:
    command = args.command
    action = getattr(args, f"{command}_command", None)
    handler = HANDLERS[(command, action)]
    args.progress = Progress(out, err or sys.stderr, quiet=getattr(args, "json", False))
    try:
        result = handler(args, ctx)
    except Answered as answer:  # the answer is a document on stdout, with its exit code
        print(answer.text, file=out)
        raise SystemExit(answer.code) from None
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
    from bot.bootstrap import wire
    from handlers import scheduler

    runtime = wire(context=ctx, check_token=False)  # the clock answers no request
    upgrade_schema(ctx)
    client = runtime.client if runtime.settings.slack_bot_token else None
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
    # the command line makes no requests: a seat that needs approval is refused (exit 1)
    return services.add_user(
        ctx, actor=args.actor, via=CLI, email=args.email, first_name=args.first_name,
        last_name=args.last_name, active=not args.inactive, projects=args.project,
        may_request_seat=False,
    ).message


def _on_user(service: Callable[..., services.Outcome]) -> Handler:
    """Commands of the form `VERB EMAIL --actor A` that return an Outcome."""

    def run(args: argparse.Namespace, ctx: Context) -> str:
        extra = {"remove_admin": args.remove_admin} if hasattr(args, "remove_admin") else {}
        return service(ctx, actor=args.actor, via=CLI, email=args.email, **extra).message

    return run


def _login(args: argparse.Namespace, ctx: Context) -> str:
    return services.login(ctx, via=CLI, email=args.email).message


def _admin_set(args: argparse.Namespace, ctx: Context) -> str:
    scope = args.projects.strip()
    projects = None if scope.lower() == "all" else [k for k in scope.split(",") if k.strip()]
    if args.dry_run:  # the hint names the user: only for an actor who may change them
        level = Level.parse(args.level)
        check_admin_change(ctx, actor=args.actor, email=args.email, level=level,
                           projects=projects)
        hint = level_hint(ctx, email=args.email, level=level).message
        refusal = refusal_of_change(ctx, actor=args.actor, email=args.email, level=level,
                                    projects=projects)
        if refusal:  # the cost of a change that would not be made is no answer
            raise InvalidInput(f"{hint}\nDry run: this change would be refused now: "
                               f"{refusal}")
        return hint
    if args.at_cycle_end:
        change = schedule_change(ctx, actor=args.actor, via=CLI, email=args.email,
                                 level=Level.parse(args.level), projects=projects)
        return f"Scheduled: {change.describe()}."
    # confirmed by running it (`--dry-run` shows the hint); an ASSISTANT is refused here
    return services.change_admin_role(ctx, actor=args.actor, via=CLI, email=args.email,
                                      level=Level.parse(args.level), projects=projects,
                                      confirmed=True, may_request=False).message


def _project_add(args: argparse.Namespace, ctx: Context) -> str:
    return services.add_project(ctx, actor=args.actor, via=CLI, key=args.key, name=args.name)


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
    ("admins", "set"): _admin_set,
    ("admins", "remove"): _on_user(services.remove_admin),
    ("admins", "apply"): _on_user(services.apply_now),
    **billing_commands.HANDLERS,
    **user_commands.HANDLERS,
    **admin_commands.HANDLERS,
    **settings_commands.HANDLERS,
    **scim_commands.HANDLERS,
}
