"""`rollcall`: the command line. Same services, same rules, same audit as Slack.

Exit codes: 0 ok, 1 refused by a rule (the reason on stderr, nothing changed), 2 usage
or a bad setting: argparse's own errors, `UsageError` (an argument's value is malformed),
`SettingsError` (a malformed or missing setting) and `DatabaseSettingError` (DATABASE_URL
names a database that cannot be used as it is). An unreachable database exits 1 with
"try again": there, trying again can help.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from sqlalchemy.exc import DBAPIError

from bot.errors import DatabaseSettingError, RollcallError, UsageError
from bot.services.context import Context
from bot.services.transactions import database_problem
from bot.settings import SettingsError
from handlers.cli.commands import dispatch
from handlers.cli.parser import build_parser

# commands that may create the database (a SQLite file); the others only use one
CREATING = {("init", None), ("db", "upgrade"), ("serve", None), ("clock", None)}


def main(
    argv: Sequence[str] | None = None,
    *,
    context: Context | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command. Tests pass their own `context` (database, clock, hasher)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        return _run(args, context, out, err)
    except (SettingsError, UsageError, DatabaseSettingError) as exc:
        print(f"rollcall: {_operator(exc)}", file=err)
        return 2
    except RollcallError as exc:
        print(f"rollcall: {exc.for_operator()}", file=err)
        return 1


def _run(args: argparse.Namespace, context: Context | None, out: TextIO,
         err: TextIO) -> int:
    from bot.settings import load_settings

    if args.command == "serve":
        from handlers.serve import serve

        serve(load_settings())
        return 0
    if context is None:
        from bot.bootstrap import bootstrap

        command = (args.command, getattr(args, f"{args.command}_command", None))
        context = bootstrap(create_database=command in CREATING)
    if args.command == "clock":  # `serve` says these itself
        from handlers.serve import announce_start

        announce_start(context, load_settings(), http=False)
    _dispatch_judged(args, context, out, err)
    return 0


def _dispatch_judged(args: argparse.Namespace, context: Context, out: TextIO,
                     err: TextIO) -> None:
    """`dispatch`; a database error no service judged (a command reading outside
    `reading`/`writing`) is judged here as the services would, or goes on (a bug)."""
    try:
        dispatch(args, context, out, err)
    except DBAPIError as exc:
        problem = database_problem(exc, context.uow.engine.url)
        if problem is None:
            raise
        raise problem from exc


def _operator(exc: Exception) -> str:
    return exc.for_operator() if isinstance(exc, RollcallError) else str(exc)


if __name__ == "__main__":
    sys.exit(main())
