"""`rollcall`: the command line. Same services, same rules, same audit as Slack.

Exit codes: 0 ok, 1 refused by a rule (the reason on stderr, nothing changed), 2 usage
or a bad setting.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from bot.cli.commands import dispatch
from bot.cli.parser import build_parser
from bot.errors import RollcallError
from bot.services.context import Context
from bot.settings import SettingsError


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
        if args.command == "serve":
            from bot.serve import serve
            from bot.settings import load_settings

            serve(load_settings())
            return 0
        if context is None:
            from bot.bootstrap import bootstrap

            context = bootstrap()
        dispatch(args, context, out, err)
    except SettingsError as exc:
        print(f"rollcall: {exc}", file=err)
        return 2
    except RollcallError as exc:
        print(f"rollcall: {exc}", file=err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
