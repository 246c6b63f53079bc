"""The README's chart, from a real run: seeds a year of an organization through the
services with a moved clock, closes every cycle, then runs `rollcall billing chart --out
FILE` in that organization's present (the command line, in process, given the demo's
context and clock: the real `rollcall` reads the wall clock, which is not 2026).

    .venv/bin/python bench/demo_chart.py [--out docs/chart.png] [--keep DIR]

Acme starts on 2025-01-06 with monthly cycles from the 1st (USD: users $12, SUPER $60,
ASSISTANT $35, VIEW ONLY $15). Each month people join and a few leave; admins are named,
promoted and stepped down, as in a real year. Deterministic: the same file every run.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from billing.model import Level  # noqa: E402
from bot import services  # noqa: E402
from bot.bootstrap import bootstrap, upgrade_schema  # noqa: E402
from bot.passwords import RandomSecretHasher  # noqa: E402
from bot.services import Context, Via  # noqa: E402
from bot.services.billing import close_due_cycles, configure_billing  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.cli import main  # noqa: E402
from tests.fakes import FixedClock  # noqa: E402

SAM = "sam@example.com"
FIRST = ["Ada", "Bo", "Cy", "Di", "Ed", "Flo", "Gus", "Hal", "Ivy", "Jo", "Kit", "Lee", "Max",
         "Ned", "Oz", "Pat", "Quin", "Ray", "Sue", "Tam", "Uma", "Vic", "Wes", "Xia", "Yul",
         "Zed"]
LAST = ["Park", "Reed", "Lane", "Stone", "Ray", "Moss", "Hart", "Vale", "Webb", "Cole"]
JOINS = [6, 4, 3, 5, 2, 6, 3, 4, 1, 5, 4, 3, 2]  # new people per month, Jan 2025 to Jan 2026
LEAVES = [0, 1, 0, 2, 1, 0, 3, 1, 2, 0, 1, 2, 0]
ADMIN_CHANGES = {  # month -> (person number, level): promotions and step-downs
    2: [(1, Level.ASSISTANT)], 4: [(3, Level.VIEW_ONLY)], 6: [(5, Level.SUPER)],
    8: [(3, Level.ASSISTANT), (9, Level.VIEW_ONLY)], 10: [(5, Level.ASSISTANT)],
    11: [(12, Level.SUPER)],
}

FUTURE_ADMINS = {number for changes in ADMIN_CHANGES.values() for number, _ in changes}


def seed(ctx: Context, clock: FixedClock) -> None:
    rng = random.Random(2025)
    clock.set("2025-01-06T09:00:00Z")
    services.init_organization(ctx, org_name="Acme", admin_email=SAM,
                               admin_first_name="Sam", admin_last_name="Stone")
    configure_billing(ctx, actor=SAM, via=Via.CLI, anchor=date(2025, 1, 1), user_price="12",
                      admin_prices={Level.SUPER: "60", Level.ASSISTANT: "35",
                                    Level.VIEW_ONLY: "15"})
    people: list[str] = []  # everyone who joined, by number
    left: set[str] = set()
    for month in range(13):
        year, mon = 2025 + month // 12, month % 12 + 1
        for day in range(JOINS[month]):
            clock.set(f"{year}-{mon:02d}-{3 + 2 * day:02d}T10:00:00Z")
            n = len(people)  # never reused: people who left keep their number
            email = f"{FIRST[n % len(FIRST)].lower()}{n}@example.com"
            services.create_user(ctx, actor=SAM, via=Via.CLI, email=email,
                                 first_name=FIRST[n % len(FIRST)],
                                 last_name=LAST[rng.randrange(len(LAST))])
            people.append(email)
        for number, level in ADMIN_CHANGES.get(month, []):
            clock.set(f"{year}-{mon:02d}-18T10:00:00Z")
            services.set_admin(ctx, actor=SAM, via=Via.CLI, email=people[number], level=level)
            services.login(ctx, via=Via.CLI, email=people[number])
        staying = [p for i, p in enumerate(people) if i not in FUTURE_ADMINS and p not in left]
        for email in rng.sample(staying, LEAVES[month]):
            clock.set(f"{year}-{mon:02d}-24T10:00:00Z")
            services.deactivate_user(ctx, actor=SAM, via=Via.CLI, email=email)
            left.add(email)
        if month < 12:  # each month closed once it ends, as the scheduler does
            end_year, end_mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
            clock.set(f"{end_year}-{end_mon:02d}-01T00:05:00Z")
            close_due_cycles(ctx, via=Via.SCHEDULER)
    clock.set("2026-01-28T12:00:00Z")  # the present: January 2026 is running


def run(out: Path, folder: Path) -> str:
    clock = FixedClock()
    ctx = bootstrap(Settings(database_url=f"sqlite:///{folder / 'demo.db'}"), clock=clock,
                    hasher=RandomSecretHasher())
    upgrade_schema(ctx)
    try:
        seed(ctx, clock)
        stdout, stderr = io.StringIO(), io.StringIO()
        code = main(["billing", "chart", "--out", str(out)], context=ctx, stdout=stdout,
                    stderr=stderr)
        if code:
            raise SystemExit(stderr.getvalue())
        return stdout.getvalue()
    finally:
        ctx.uow.engine.dispose()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "chart.png")
    parser.add_argument("--keep", type=Path, help="keep the demo database in this folder")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        print(run(args.out, args.keep), end="")
        return
    with tempfile.TemporaryDirectory() as folder:
        print(run(args.out, Path(folder)), end="")


if __name__ == "__main__":
    cli()
