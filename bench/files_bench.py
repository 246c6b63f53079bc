"""What a cycle summary's chart and CSV add to a close, for a 100,000-user invoice.

Run by hand, not by pytest:

    .venv/bin/python bench/files_bench.py [--users 100000] [--admins 5000] [--repeat 5]

One SQLite file (schema through Alembic, the organization and its prices through the
services) holds twelve final invoices of `--users` billed users and `--admins` billed
admins each: documents of exactly the shape `billing_store.document` writes (emails sorted,
an admin line per admin with its wording), inserted as rows, since only their size
matters here (bench/billing_bench.py times the close that computes them). The latest
cycle's chart and CSV rows are recorded through `billing_files.summary_files`, as
`close_due_cycles` records them, its summary row already sent.

Timed (best and median of `--repeat` after one warm-up, `time.perf_counter`):

- chart: `summary_upload` of the chart row: the 12 final invoices read and parsed, the
  points, the PNG drawn;
- CSV: `summary_upload` of the CSV row: the invoice read and parsed, the CSV written;
- both sent: `deliver_due` of both rows against the loopback fake Web API
  (tests/slack/fake_slack.py): drawing, then `files.getUploadURLExternal`, the upload POST
  and `files.completeUploadExternal` for each (rows reset to pending before each run);
- the first chart in a fresh process, which also imports matplotlib and loads its fonts
  (a separate subprocess, once; the scheduler does that when it starts, `charts.warm_up`),
  and what the chart adds to a warm process's peak RSS (another subprocess).

Results are printed as Markdown for docs/benchmarks.md and written to
bench/last_files_results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import update  # noqa: E402

from billing.model import Level  # noqa: E402
from bot.bootstrap import bootstrap, upgrade_schema  # noqa: E402
from bot.outbox import deliver_due  # noqa: E402
from bot.passwords import RandomSecretHasher  # noqa: E402
from bot.services import Via  # noqa: E402
from bot.services.billing import configure_billing  # noqa: E402
from bot.services.billing_files import UPLOAD, summary_files, summary_upload  # noqa: E402
from bot.services.context import Channels, Context  # noqa: E402
from bot.services.org import init_organization  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack_api import slack_client  # noqa: E402
from store.models import Invoice, OutboxMessage, OutboxStatus  # noqa: E402
from store.outbox import enqueue  # noqa: E402
from tests.fakes import FixedClock  # noqa: E402

PRICES = {"super": 50, "assistant": 30, "view-only": 10}
LEVELS = ["super", "assistant", "view-only"]
CHANNEL = "C0BILLING"


def document(month: int, users: int, admins: int, rng: random.Random) -> dict:
    start = datetime(2024, month, 1, tzinfo=UTC)
    end = datetime(2024 + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    emails = sorted(f"user{n:06d}.{rng.randrange(10**6):06d}@example.com"
                    for n in range(users))
    billed = {email: LEVELS[rng.randrange(3)] for email in rng.sample(emails, admins)}
    lines = [{"description": "Active users", "quantity": users, "unit_price": "10.00",
              "amount": f"{users * 10}.00"}]
    for email, level in sorted(billed.items(), key=lambda kv: (LEVELS.index(kv[1]), kv[0])):
        title = level.upper().replace("-", " ")
        lines.append({"description": f"Taylor Reed ({email}): {title}, held until "
                                     f"{start:%b} 10", "quantity": 1,
                      "unit_price": f"{PRICES[level]}.00", "amount": f"{PRICES[level]}.00"})
    total = users * 10 + sum(PRICES[level] for level in billed.values())
    return {"cycle_start": start.isoformat(), "cycle_end": end.isoformat(), "status": "final",
            "currency": "USD", "active_users": users, "users": emails, "admins": billed,
            "lines": lines, "total": f"{total}.00"}


def build(path: Path, users: int, admins: int) -> None:
    clock = FixedClock("2024-01-01T00:00:00Z")
    ctx = bootstrap(Settings(database_url=f"sqlite:///{path}"), clock=clock,
                    hasher=RandomSecretHasher())
    upgrade_schema(ctx)
    init_organization(ctx, org_name="Acme", admin_email="sam@example.com",
                      admin_first_name="Sam", admin_last_name="Stone")
    configure_billing(ctx, actor="sam@example.com", via=Via.CLI, user_price="10",
                      admin_prices={Level.SUPER: "50", Level.ASSISTANT: "30",
                                    Level.VIEW_ONLY: "10"})
    rng = random.Random(20240101)
    now = datetime(2025, 1, 1, 0, 5, tzinfo=UTC)
    with ctx.uow as uow:
        for month in range(1, 13):
            doc = document(month, users, admins, rng)
            uow.session.add(Invoice(
                cycle_start=datetime.fromisoformat(doc["cycle_start"]),
                cycle_end=datetime.fromisoformat(doc["cycle_end"]), currency="USD",
                total=doc["total"], active_users=users, document=doc, finalized_at=now))
        start = datetime(2024, 12, 1, tzinfo=UTC).isoformat()
        enqueue(uow.session, key=f"summary:{start}", channel=CHANNEL, now=now,
                payload={"text": "summary"})
        for key, payload in summary_files(start):
            enqueue(uow.session, key=key, channel=CHANNEL, now=now, payload=payload,
                    method=UPLOAD)
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.key == f"summary:{start}")
                            .values(status=OutboxStatus.SENT))
        uow.commit()
    ctx.uow.engine.dispose()


def timed(work, repeat: int) -> list[float]:
    work()  # warm-up
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return times


def first_chart(path: Path) -> float:
    """The chart row drawn once in a fresh process: matplotlib's import and font cache."""
    code = ("import time, sys; began = time.perf_counter()\n"
            "from bench.files_bench import draw_once; draw_once(sys.argv[1])\n"
            "print(time.perf_counter() - began)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def chart_memory(path: Path) -> float:
    """MB the chart row adds to a warm process's peak RSS (invoices read one at a time)."""
    code = ("import sys\n"
            "from bot.charts import warm_up; warm_up()\n"
            "from bench.files_bench import draw_once, status_kb\n"
            "before = status_kb('VmRSS')\n"
            "open('/proc/self/clear_refs', 'w').write('5')  # resets VmHWM to VmRSS\n"
            "draw_once(sys.argv[1])\n"
            "print((status_kb('VmHWM') - before) / 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def context(path: Path) -> Context:
    ctx = bootstrap(Settings(database_url=f"sqlite:///{path}"),
                    clock=FixedClock("2025-01-01T00:10:00Z"), hasher=RandomSecretHasher())
    ctx.channels = Channels(billing=CHANNEL)
    return ctx


def payloads(ctx: Context) -> dict[str, dict]:
    with ctx.uow as uow:
        return {row.payload["upload"]: row.payload for row in uow.session.query(OutboxMessage)
                if row.method == UPLOAD}


def draw_once(path: str) -> None:
    ctx = context(Path(path))
    summary_upload(ctx, payloads(ctx)["chart"])


def measure(path: Path, repeat: int) -> dict:
    from tests.slack.fake_slack import FakeSlack

    ctx = context(path)
    rows = payloads(ctx)
    chart = summary_upload(ctx, rows["chart"])
    sheet = summary_upload(ctx, rows["invoice_csv"])
    chart_times = timed(lambda: summary_upload(ctx, rows["chart"]), repeat)
    csv_times = timed(lambda: summary_upload(ctx, rows["invoice_csv"]), repeat)
    fake = FakeSlack()
    client = slack_client(Settings(slack_bot_token="xoxb-bench", slack_api_url=fake.api_url))

    def send_both() -> None:
        with ctx.uow as uow:
            uow.session.execute(update(OutboxMessage).where(OutboxMessage.method == UPLOAD)
                                .values(status=OutboxStatus.PENDING, attempts=0,
                                        next_attempt_at=ctx.clock.now()))
            uow.commit()
        assert deliver_due(ctx, client) == 2

    try:
        send_times = timed(send_both, repeat)
    finally:
        fake.close()
    assert [len(u.data) for u in fake.uploads[-2:]] == [len(chart.content), len(sheet.content)]
    ctx.uow.engine.dispose()
    return {"chart": chart_times, "csv": csv_times, "both_sent": send_times,
            "png_bytes": len(chart.content), "csv_bytes": len(sheet.content),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--admins", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "files.db"
        began = time.perf_counter()
        build(path, args.users, args.admins)
        built = time.perf_counter() - began
        cold = first_chart(path)
        chart_mb = chart_memory(path)
        result = measure(path, args.repeat)
        size = path.stat().st_size
    result.update(users=args.users, admins=args.admins, first_chart_in_process=cold,
                  chart_peak_rss_growth_mb=chart_mb,
                  build_seconds=built, database_mb=size / 2**20,
                  machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} "
                          f"cores, {platform.system()} {platform.machine()}",
                  python=platform.python_version(), sqlite=sqlite3.sqlite_version,
                  date=datetime.now(UTC).strftime("%a %b %d %H:%M UTC %Y"))
    (ROOT / "bench" / "last_files_results.json").write_text(json.dumps(result, indent=2))

    def row(name: str, times: list[float]) -> str:
        return f"| {name} | {min(times):.3f} | {statistics.median(times):.3f} |"

    print(f"{args.users:,} billed users, {args.admins:,} billed admins per invoice; "
          f"PNG {result['png_bytes']:,} bytes, CSV {result['csv_bytes']:,} bytes")
    print("| what | best s | median s |\n|---|---|---|")
    print(row("chart: 12 invoices read, points, PNG", result["chart"]))
    print(row("CSV: the invoice read, CSV written", result["csv"]))
    print(row("both drawn and uploaded (outbox, loopback fake Web API)", result["both_sent"]))
    print(f"| first chart in a fresh process (matplotlib import, fonts) | {cold:.3f} | |")
    print(f"the chart adds {chart_mb:.0f} MB to a warm process's peak RSS (this whole "
          f"benchmark, building included, peaked at {result['peak_rss_mb']:.0f} MB)")
    print(f"{result['machine']}; Python "
          f"{result['python']}, SQLite {result['sqlite']}; {result['date']}")


if __name__ == "__main__":
    main()
