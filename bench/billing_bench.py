"""Billing benchmark: the running cycle's preview, the close of one cycle, and two floors.

Run by hand, not by pytest:

    .venv/bin/python bench/billing_bench.py [--sizes small,medium,large] [--profile]

For each size a fresh SQLite file is built in a temporary directory by one subprocess
(schema through Alembic, organization and billing terms through the services, then users,
admin grants and audit events bulk-loaded with SQLAlchemy Core), and measured by a second
subprocess, so the peak RSS reported (the parent's `os.wait4` rusage of that child) is the
billing work's alone, not the data generation's. The bulk-loaded audit is then folded into
`state_periods` by `store.periods.rebuild` (what migration 0005 does to an existing
database), timed and reported.

Measured with the clock inside cycle 12 (2024-12-15T12:00Z), best and median of 3 after
one warm-up:

- preview: `invoice_on(ctx)`, the running cycle's draft, with every ended cycle closed;
- close: `close_due_cycles(ctx)` with exactly one cycle due (November), on a fresh copy of
  the database file per repetition (final invoices are immutable by trigger); the time
  spent in `compute` (the measure and the invoice) is recorded;
- floor (all history): one SQL aggregate over the audit rows the invoice is a function of
  (every `audit_events` state before the cycle's end, grouped by user), fetched fully;
- floor (rows read): one SQL aggregate over exactly the rows the engine reads for the
  cycle (the active `state_periods` overlapping it, the same index range), fetched fully.

The preview's floors use December's bounds, the close's November's (the cycle closed).

Peak RSS is per phase (VmHWM, reset through /proc/self/clear_refs). Results are printed
and written to bench/last_results.json; docs/benchmarks.md discusses them.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, insert, text  # noqa: E402

from billing.cycles import Cycle  # noqa: E402
from billing.model import Level  # noqa: E402
from billing.terms import UserPolicy  # noqa: E402
from bot.bootstrap import bootstrap, upgrade_schema  # noqa: E402
from bot.services import billing_store  # noqa: E402
from bot.services.billing import close_due_cycles, configure_billing, invoice_on  # noqa: E402
from bot.services.context import Via  # noqa: E402
from bot.services.org import init_organization  # noqa: E402
from bot.settings import Settings  # noqa: E402
from store import periods, repository  # noqa: E402
from store.models import AdminGrant, AuditEvent, User  # noqa: E402
from store.types import UTCDateTime  # noqa: E402
from tests.fakes import FixedClock  # noqa: E402

SIZES = {  # users, admins, audit events
    "small": (10_000, 500, 100_000),
    "medium": (30_000, 1_500, 300_000),
    "large": (100_000, 5_000, 1_000_000),
}
SEED = 20240101
START = datetime(2024, 1, 1, tzinfo=UTC)  # organization created; cycle 1 starts
NOW = datetime(2024, 12, 15, 12, tzinfo=UTC)  # inside cycle 12 (December)
PRE_CLOSE_AT = datetime(2024, 11, 15, 12, tzinfo=UTC)  # closes Jan..Oct, leaves Nov due
RUNNING_START = datetime(2024, 12, 1, tzinfo=UTC)  # the running cycle (December)
RUNNING_END = datetime(2025, 1, 1, tzinfo=UTC)
CLOSED_START = datetime(2024, 11, 1, tzinfo=UTC)  # the cycle the timed close finalizes
CLOSED_END = RUNNING_START
ACTOR = "sam@example.com"
LABELS = {1: "view-only", 2: "assistant", 3: "super"}
BATCH = 20_000
REPEATS = 3

TARGET_SECONDS = 2.0
TARGET_RATIO = 2.0
TARGET_RSS_MB = 300.0

# floor (all history): the rows the invoice is a function of
FLOOR_ALL_SQL = text(
    "SELECT subject_user_id, count(*), max(level_after), max(status_after) "
    "FROM audit_events WHERE status_after IS NOT NULL AND at < :end "
    "GROUP BY subject_user_id"
).bindparams(bindparam("end", type_=UTCDateTime()))
# floor (rows read): the rows the engine reads, the active periods overlapping the cycle,
# through the same index range (left alone, SQLite would scan every period in user order)
FLOOR_ROWS_SQL = text(
    "SELECT user_id, count(*), max(level), max(effective) FROM state_periods "
    "INDEXED BY ix_state_periods_active "
    "WHERE status = 'active' AND stop > :start AND start < :end GROUP BY user_id"
).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
ROWS_READ_SQL = text(
    "SELECT count(*) FROM state_periods WHERE status = 'active' AND stop > :start "
    "AND start < :end"
).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))


class CheapHasher:
    def hash(self, password: str) -> str:
        return "bench$" + str(len(password))


def _us(at: datetime) -> int:
    return (at - START) // timedelta(microseconds=1)


def _at(us: int) -> datetime:
    return START + timedelta(microseconds=us)


def _context(path: Path, at: datetime):
    clock = FixedClock(at)
    ctx = bootstrap(Settings(database_url=f"sqlite:///{path}"), clock=clock, hasher=CheapHasher())
    return ctx, clock


# ---------------------------------------------------------------------------------------
# Data generation
# ---------------------------------------------------------------------------------------


def _user_path(rng: random.Random, uid: int, created: int, k: int, admin: bool,
               deleted: bool, end: int) -> tuple[list[tuple], dict]:
    """One user's events as (at_us, uid, seq, action, outcome, actor_id, status, lvl, eff)
    and the final state. `k` events in all, the first the create; with `deleted` the last
    is the deletion. Logins keep the state except that they apply a pending level."""
    status = "active" if rng.random() < 0.85 else "pending"
    lvl = eff = 0
    events = [(created, uid, 0, "user.create", "ok", 1, status, 0, 0)]
    times = sorted(rng.randrange(created + 1, end) for _ in range(k - 1))
    admin_slot = rng.randrange(0, max(1, (k - 1) // 3)) if admin else -1
    admin_done = False
    first_login = None
    grant_at = None
    for i, t in enumerate(times, start=1):
        last = i == k - 1
        actor, outcome = 1, "ok"
        if last and deleted:
            action, status, lvl, eff = "user.delete", "deleted", 0, 0  # with remove_admin
        elif status == "deactivated":
            if rng.random() < 0.5:
                action, status = "user.activate", "active"
            else:  # a deactivated user cannot sign in: refused, no state recorded
                events.append((t, uid, i, "user.login", "refused", uid, None, None, None))
                continue
        elif lvl != eff:  # pending admin change: the next login applies it
            action, actor, eff = "user.login", uid, lvl
            grant_at = t
        elif admin and not admin_done and i - 1 >= admin_slot:
            new = rng.choices((1, 2, 3), weights=(50, 35, 15))[0]
            action, lvl, admin_done, grant_at = "admin.set", new, True, t
        elif admin and admin_done and lvl and rng.random() < 0.04:
            if rng.random() < 0.15:
                action, lvl = "admin.remove", 0
            else:
                action, lvl = "admin.set", rng.choice([x for x in (1, 2, 3) if x != lvl])
            grant_at = t
        elif status == "pending":
            if rng.random() < 0.3:
                action, status = "user.activate", "active"
            else:
                action, actor = "user.login", uid
        else:  # active
            r = rng.random()
            if r < (0.003 if lvl or eff else 0.06):
                action, status, lvl, eff = "user.deactivate", "deactivated", 0, 0
            else:
                action, actor = "user.login", uid
        if action == "user.login" and first_login is None:
            first_login = t
        events.append((t, uid, i, action, outcome, actor, status, lvl, eff))
    final = {"status": status, "lvl": lvl, "eff": eff, "created": created,
             "first_login": first_login, "grant_at": grant_at}
    return events, final


def generate(n_users: int, n_admins: int, n_events: int, seed: int) -> tuple[list, list, list]:
    """Users 2..n_users (sam, user 1, exists already), their events and final rows."""
    rng = random.Random(seed)
    end = _us(NOW) - 1
    uids = list(range(2, n_users + 1))
    created = {}
    for uid in uids:  # 30% from day one, the rest joining over the year
        created[uid] = 1 if rng.random() < 0.3 else rng.randrange(1, end - 86_400_000_000)
    admins = set(rng.sample(uids, n_admins - 1))
    deleted = {uid for uid in uids if uid not in admins and rng.random() < 0.05}
    sam_logins = 200
    # every user has the create; the rest spread in proportion to each user's lifetime
    counts = Counter({uid: 1 for uid in uids})
    for uid in admins:
        counts[uid] += 2
    for uid in deleted:
        counts[uid] += 1
    spare = n_events - sum(counts.values()) - sam_logins - 3  # sam: org.init, create, terms
    weights = [end - created[uid] for uid in uids]
    counts.update(rng.choices(uids, weights=weights, k=max(0, spare)))
    events: list[tuple] = [
        (t, 1, i, "user.login", "ok", 1, "active", 3, 3)
        for i, t in enumerate(sorted(rng.randrange(1, end) for _ in range(sam_logins)), 1)
    ]
    users, grants = [], []
    for uid in uids:
        path, final = _user_path(rng, uid, created[uid], counts[uid], uid in admins,
                                 uid in deleted, end)
        events.extend(path)
        users.append({
            "id": uid, "first_name": f"First{uid}", "last_name": f"Last{uid}",
            "email": f"user{uid}@example.com", "email_key": f"user{uid}@example.com",
            "status": final["status"], "slack_user_id": f"U{uid:09d}",
            "password_hash": "bench$0", "created_at": _at(final["created"]),
            "first_login_at": _at(final["first_login"]) if final["first_login"] else None,
        })
        if final["lvl"] or final["eff"]:
            grants.append({
                "user_id": uid, "level": LABELS.get(final["lvl"]),
                "effective_level": LABELS.get(final["eff"]), "all_projects": True,
                "changed_at": _at(final["grant_at"]),
            })
    events.sort()  # ids follow time, as they do in production
    return users, grants, events


def _event_row(e: tuple) -> dict:
    at, uid, _, action, outcome, actor, status, lvl, eff = e
    return {
        "at": _at(at), "via": "cli" if actor == 1 else "slack", "action": action,
        "outcome": outcome, "actor_user_id": actor,
        "actor": f"user{actor}@example.com" if actor != 1 else ACTOR,
        "subject_user_id": uid, "subject": f"user{uid}@example.com" if uid != 1 else ACTOR,
        "reason": None, "before": None, "after": None, "status_after": status,
        "level_after": lvl, "effective_after": eff,
    }


def build(size: str, path: Path) -> dict:
    n_users, n_admins, n_events = SIZES[size]
    t0 = time.perf_counter()
    ctx, _clock = _context(path, START)
    upgrade_schema(ctx)
    init_organization(ctx, org_name="Bench Org", admin_email=ACTOR, admin_first_name="Sam",
                      admin_last_name="Super")
    configure_billing(ctx, actor=ACTOR, via=Via.CLI, timezone="UTC", cycle="monthly",
                      user_price="10",
                      admin_prices={Level.SUPER: "50", Level.ASSISTANT: "30",
                                    Level.VIEW_ONLY: "10"})
    users, grants, events = generate(n_users, n_admins, n_events, SEED)
    t_gen = time.perf_counter() - t0
    with ctx.uow.engine.begin() as conn:
        for table, rows in ((User.__table__, users), (AdminGrant.__table__, grants)):
            for i in range(0, len(rows), BATCH):
                conn.execute(insert(table), rows[i:i + BATCH])
        for i in range(0, len(events), BATCH):
            conn.execute(insert(AuditEvent.__table__),
                         [_event_row(e) for e in events[i:i + BATCH]])
    rows = {t: _raw(ctx, f"SELECT count(*) FROM {t}")[0][0]
            for t in ("users", "admin_grants", "audit_events")}
    rows["state_events"] = _raw(
        ctx, "SELECT count(*) FROM audit_events WHERE status_after IS NOT NULL")[0][0]
    t1 = time.perf_counter()
    with ctx.uow as uow:  # what migration 0005 does to an existing database
        rows["state_periods"] = periods.rebuild(uow.session)
        uow.commit()
    t_periods = time.perf_counter() - t1
    _raw(ctx, "ANALYZE")
    _checkpoint(ctx)
    return {"rows": rows, "generate_s": t_gen, "build_s": time.perf_counter() - t0,
            "periods_rebuild_s": t_periods, "db_mb": path.stat().st_size / 1e6}


# ---------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------


def _timed(fn, repeats: int = REPEATS) -> dict:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"best": min(times), "median": statistics.median(times), "all": times}


def _raw(ctx, sql: str) -> list:
    """Run SQL outside any transaction (the engine's connections are in autocommit)."""
    conn = ctx.uow.engine.raw_connection()
    try:
        return conn.cursor().execute(sql).fetchall()
    finally:
        conn.close()


def _checkpoint(ctx) -> None:
    _raw(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
    ctx.uow.engine.dispose()


_WHOLE_PEAK = [0.0]  # resetting VmHWM also lowers ru_maxrss: keep the running maximum


def _reset_peak() -> None:
    """Reset this process's peak RSS (Linux: VmHWM), so each phase gets its own peak."""
    _WHOLE_PEAK[0] = max(_WHOLE_PEAK[0], _peak_mb())
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Split:
    """Accumulate the time spent in `bs.compute` (the measure and the invoice) during a
    close, by wrapping it where billing looks it up."""

    def __init__(self) -> None:
        from bot.services import billing_store

        self.seconds = {"compute": 0.0}
        self._targets = ((billing_store, "compute"),)
        self._saved = [getattr(mod, name) for mod, name in self._targets]

    def __enter__(self) -> _Split:
        for (mod, name), fn in zip(self._targets, self._saved, strict=True):
            setattr(mod, name, self._wrap(name, fn))
        return self

    def __exit__(self, *exc) -> None:
        for (mod, name), fn in zip(self._targets, self._saved, strict=True):
            setattr(mod, name, fn)

    def _wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t0
        return timed


def _close_one(base: Path, path: Path) -> dict:
    """Time `close_due_cycles` with exactly one cycle due, on a fresh copy per repetition."""
    times, peaks, splits, doc = [], [], [], None
    for rep in range(REPEATS + 1):
        copy = path.with_suffix(f".rep{rep}.db")
        shutil.copy(base, copy)
        rctx, _ = _context(copy, NOW)
        _raw(rctx, "SELECT count(*) FROM invoices")  # open the file outside the timing
        gc.collect()
        _reset_peak()
        with _Split() as split:
            t0 = time.perf_counter()
            done = close_due_cycles(rctx, via=Via.CLI)
            elapsed = time.perf_counter() - t0
        peaks.append(_peak_mb())
        assert len(done) == 1, f"expected one due cycle, closed {len(done)}"
        doc = done[0].document
        assert doc["cycle_start"].startswith("2024-11-01"), doc["cycle_start"]
        if rep:  # rep 0 is the warm-up
            times.append(elapsed)
            splits.append(split.seconds)
        rctx.uow.engine.dispose()
        del done
        copy.unlink()
        for extra in ("-wal", "-shm"):
            Path(str(copy) + extra).unlink(missing_ok=True)
    best = times.index(min(times))
    return {"best": min(times), "median": statistics.median(times), "all": times,
            "split_of_best": splits[best], "splits": splits,
            "active_users": doc["active_users"], "total": doc["total"],
            "peak_rss_mb": max(peaks)}


def _floors(ctx, start: datetime, end: datetime) -> dict:
    """Both floors for the cycle [start, end), timed like the engine, fetched fully."""
    def all_history() -> int:
        with ctx.uow.engine.connect() as conn:
            return len(conn.execute(FLOOR_ALL_SQL, {"end": end}).all())

    def rows_read() -> int:
        with ctx.uow.engine.connect() as conn:
            return len(conn.execute(FLOOR_ROWS_SQL, {"start": start, "end": end}).all())

    out = {"start": start.isoformat(), "end": end.isoformat()}
    for key, fn in (("all", all_history), ("rows", rows_read)):
        _reset_peak()
        out[key] = _timed(fn)
        out[key]["groups"] = fn()
        out[key]["peak_rss_mb"] = _peak_mb()
    with ctx.uow.engine.connect() as conn:
        out["rows_read"] = {
            "periods": conn.execute(ROWS_READ_SQL, {"start": start, "end": end}).scalar_one(),
            "cycle_events": conn.execute(text(
                "SELECT count(*) FROM audit_events WHERE status_after IS NOT NULL "
                "AND at >= :start AND at < :end").bindparams(
                    bindparam("start", type_=UTCDateTime()),
                    bindparam("end", type_=UTCDateTime())),
                {"start": start, "end": end}).scalar_one(),
            "history_events": conn.execute(text(
                "SELECT count(*) FROM audit_events WHERE status_after IS NOT NULL "
                "AND at < :end").bindparams(bindparam("end", type_=UTCDateTime())),
                {"end": end}).scalar_one(),
        }
    return out


def measure(size: str, path: Path, profile: bool) -> dict:
    out: dict = {"phase_peak_mb": {}}
    peaks = out["phase_peak_mb"]
    # 1. close Jan..Oct once (not timed): November is then the one cycle due on Dec 15
    ctx, _clock = _context(path, PRE_CLOSE_AT)
    _reset_peak()
    t0 = time.perf_counter()
    closed = close_due_cycles(ctx, via=Via.CLI)
    out["pre_close"] = {"cycles": len(closed), "s": time.perf_counter() - t0}
    peaks["pre_close (10 cycles, untimed)"] = _peak_mb()
    assert len(closed) == 10, f"pre-close closed {len(closed)} cycles, expected 10"
    del closed

    # 2. the floors of the cycle the timed close finalizes (November), on this same file
    out["close_floors"] = _floors(ctx, CLOSED_START, CLOSED_END)
    peaks["close floors"] = max(out["close_floors"][k]["peak_rss_mb"] for k in ("all", "rows"))
    _checkpoint(ctx)
    base = path.with_suffix(".preclosed.db")
    shutil.copy(path, base)

    # 3. the close of ONE cycle (November), on a fresh copy per repetition
    out["close"] = _close_one(base, path)
    peaks["close"] = out["close"]["peak_rss_mb"]
    base.unlink()

    # 4. the preview of the running cycle, every ended cycle closed
    ctx, _clock = _context(path, NOW)
    assert len(close_due_cycles(ctx, via=Via.CLI)) == 1
    gc.collect()
    _reset_peak()
    view = invoice_on(ctx)
    out["preview"] = _timed(lambda: invoice_on(ctx))
    peaks["preview"] = _peak_mb()
    out["preview"]["active_users"] = view.document["active_users"]
    out["preview"]["total"] = view.document["total"]
    del view

    # 5. the floors of the running cycle (December)
    out["preview_floors"] = _floors(ctx, RUNNING_START, RUNNING_END)
    peaks["preview floors"] = max(out["preview_floors"][k]["peak_rss_mb"]
                                  for k in ("all", "rows"))

    # 6. December's measure and invoice under each user policy (the same data)
    out["by_policy"] = _by_policy(ctx)

    if profile:
        out["profile"] = _profile(ctx)
    ctx.uow.engine.dispose()
    out["whole_peak_mb"] = max(_WHOLE_PEAK[0], _peak_mb(),
                               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def _by_policy(ctx) -> dict:
    """`billing_store.compute` for December under each user policy: seconds, seats, total."""
    cycle = Cycle(RUNNING_START, RUNNING_END)
    with ctx.uow as uow:
        org = repository.organization(uow.session)
        terms = billing_store.versions(uow.session, org)[-1][2]
    out = {}
    for policy in UserPolicy:
        policy_terms = replace(terms, user_policy=policy)
        invoice = None

        def run(policy_terms=policy_terms) -> None:
            nonlocal invoice
            with ctx.uow as uow:
                invoice = billing_store.compute(uow.session, cycle, policy_terms)

        timed = _timed(run)
        out[policy.value] = {**timed, "active_users": invoice.active_users,
                             "total": str(invoice.total)}
    return out


def _profile(ctx) -> str:
    prof = cProfile.Profile()
    prof.enable()
    invoice_on(ctx)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------
# Parent: one subprocess per step and size, the table, docs/benchmarks.md
# ---------------------------------------------------------------------------------------


def _child(args: list[str]) -> tuple[dict, float]:
    """Run this script as a child; return its JSON result and its peak RSS in MB."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result_path = f.name
    proc = subprocess.Popen([sys.executable, __file__, *args, "--result", result_path])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child {args} failed with {proc.returncode}")
    result = json.loads(Path(result_path).read_text())
    os.unlink(result_path)
    return result, usage.ru_maxrss / 1024  # KiB on Linux


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
    date = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "os": platform.platform(), "date": date}


def _peak(r: dict) -> float:
    """The peak RSS of the measured work: the larger of the preview's and the close's."""
    return max(r["phase_peak_mb"]["preview"], r["phase_peak_mb"]["close"])


def _ratios(r: dict) -> dict[str, float]:
    """preview/close over the floors of their own cycle (December / November)."""
    p, c = r["preview"]["best"], r["close"]["best"]
    pf, cf = r["preview_floors"], r["close_floors"]
    return {"preview/all": p / pf["all"]["best"], "preview/rows": p / pf["rows"]["best"],
            "close/all": c / cf["all"]["best"], "close/rows": c / cf["rows"]["best"]}


def _verdicts(results: dict) -> list[tuple[str, bool, str]]:
    largest = list(results)[-1]
    r = results[largest]
    ratios = _ratios(r)
    out = []
    for key in ("preview", "close"):
        s = r[key]["best"]
        out.append((f"{key} <= {TARGET_SECONDS:g} s at {largest}", s <= TARGET_SECONDS,
                    f"{s:.3f} s"))
        for floor, name in (("all", "floor (all history)"), ("rows", "floor (rows read)")):
            ratio = ratios[f"{key}/{floor}"]
            out.append((f"{key} <= {TARGET_RATIO:g}x {name} at {largest}",
                        ratio <= TARGET_RATIO, f"{ratio:.2f}x"))
    peak = max(_peak(x) for x in results.values())
    out.append((f"peak RSS of preview/close <= {TARGET_RSS_MB:g} MB", peak <= TARGET_RSS_MB,
                f"{peak:.0f} MB"))
    whole = max(x["rss_mb"] for x in results.values())
    out.append((f"peak RSS of the whole measuring process <= {TARGET_RSS_MB:g} MB "
                "(includes the untimed close of 10 earlier cycles)", whole <= TARGET_RSS_MB,
                f"{whole:.0f} MB"))
    names = list(results)
    if len(names) > 1:
        for key in ("preview", "close"):
            first = results[names[0]][key]["best"] / results[names[0]]["events_m"]
            last = results[names[-1]][key]["best"] / results[names[-1]]["events_m"]
            growth = last / first
            out.append((f"{key} grows no faster than linearly ({names[0]} -> {names[-1]}, "
                        "per-1M-event cost within 1.25x)", growth <= 1.25,
                        f"{first:.3f} -> {last:.3f} s per 1M events ({growth:.2f}x)"))
    return out


def table(results: dict) -> str:
    head = ("| size | users / admin grants / events | preview s (best, median) | close s "
            "(best, median) | Dec floor all history s | Dec floor rows read s | "
            "Nov floor all history s | Nov floor rows read s | preview / floor all | "
            "preview / floor rows | close / floor all | close / floor rows | "
            "peak RSS MB (preview, close, whole process) |")
    lines = [head, "|" + "---|" * 13]
    for size, r in results.items():
        rows, p, q = r["rows"], r["phase_peak_mb"], _ratios(r)
        pf, cf = r["preview_floors"], r["close_floors"]
        lines.append(
            f"| {size} | {rows['users']:,} / {rows['admin_grants']:,} / "
            f"{rows['audit_events']:,} | {r['preview']['best']:.3f}, "
            f"{r['preview']['median']:.3f} | {r['close']['best']:.3f}, "
            f"{r['close']['median']:.3f} | {pf['all']['best']:.3f} | "
            f"{pf['rows']['best']:.3f} | {cf['all']['best']:.3f} | {cf['rows']['best']:.3f} | "
            f"{q['preview/all']:.2f}x | {q['preview/rows']:.2f}x | {q['close/all']:.2f}x | "
            f"{q['close/rows']:.2f}x | {p['preview']:.0f}, {p['close']:.0f}, "
            f"{r['rss_mb']:.0f} |")
    return "\n".join(lines)


def detail_table(results: dict) -> str:
    lines = ["| size | state periods (all) | rows read Dec (active periods) / Dec state events | "
             "rows read Nov / Nov state events | history state events (Dec) | "
             "close split: compute / rest s | preview per 1M events | close per 1M events | "
             "periods rebuilt from the audit s | pre-close of 10 cycles s |",
             "|" + "---|" * 10]
    for size, r in results.items():
        pr, cr = r["preview_floors"]["rows_read"], r["close_floors"]["rows_read"]
        sp = r["close"]["split_of_best"]
        rest = r["close"]["best"] - sp["compute"]
        lines.append(
            f"| {size} | {r['rows']['state_periods']:,} | "
            f"{pr['periods']:,} / {pr['cycle_events']:,} | "
            f"{cr['periods']:,} / {cr['cycle_events']:,} | {pr['history_events']:,} | "
            f"{sp['compute']:.3f} / {rest:.3f} | "
            f"{r['preview']['best'] / r['events_m']:.3f} s | "
            f"{r['close']['best'] / r['events_m']:.3f} s | {r['periods_rebuild_s']:.1f} | "
            f"{r['pre_close']['s']:.1f} |")
    return "\n".join(lines)


def policy_table(results: dict) -> str:
    lines = ["| size | " + " | ".join(f"{p.value} s (best) / seats / total" for p in UserPolicy)
             + " | rows-read floor, Dec s |", "|" + "---|" * (len(UserPolicy) + 2)]
    for size, r in results.items():
        cells = [f"{r['by_policy'][p.value]['best']:.3f} / "
                 f"{r['by_policy'][p.value]['active_users']:,} / "
                 f"{r['by_policy'][p.value]['total']}" for p in UserPolicy]
        lines.append(f"| {size} | " + " | ".join(cells)
                     + f" | {r['preview_floors']['rows']['best']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,medium,large")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile one preview per size and print the top entries")
    parser.add_argument("--keep", help="build the databases in this directory and keep them")
    parser.add_argument("--child", choices=("build", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        fn = build if args.child == "build" else measure
        extra = () if args.child == "build" else (args.profile,)
        result = fn(args.size, Path(args.db), *extra)
        Path(args.result).write_text(json.dumps(result))
        return

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    for s in sizes:
        if s not in SIZES:
            parser.error(f"unknown size {s!r}; pick from {', '.join(SIZES)}")
    info = machine()
    print(f"{info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB, Python "
          f"{info['python']}, SQLite {info['sqlite']}; {info['date']}", flush=True)
    results: dict = {}
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="rollcall-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for size in sizes:
            db = workdir / f"{size}.db"
            for leftover in workdir.glob(f"{size}.*"):
                leftover.unlink()
            print(f"[{size}] building {SIZES[size]} ...", flush=True)
            built, build_rss = _child(["--child", "build", "--size", size, "--db", str(db)])
            print(f"[{size}] built in {built['build_s']:.1f} s ({built['db_mb']:.0f} MB, "
                  f"rows {built['rows']}); measuring ...", flush=True)
            flags = ["--profile"] if args.profile else []
            measured, rss = _child(["--child", "measure", "--size", size, "--db", str(db),
                                    *flags])
            rss = max(rss, measured["whole_peak_mb"])
            r = {**built, **measured, "rss_mb": rss, "build_rss_mb": build_rss,
                 "events_m": built["rows"]["audit_events"] / 1e6}
            results[size] = r
            print(f"[{size}] preview {r['preview']['best']:.3f} s, close "
                  f"{r['close']['best']:.3f} s (split {r['close']['split_of_best']}), "
                  f"floors Dec {r['preview_floors']['all']['best']:.3f} / "
                  f"{r['preview_floors']['rows']['best']:.3f} s, Nov "
                  f"{r['close_floors']['all']['best']:.3f} / "
                  f"{r['close_floors']['rows']['best']:.3f} s (all history / rows read), "
                  f"peak RSS {r['phase_peak_mb']} (whole process {rss:.0f} MB)", flush=True)
            if args.profile:
                print(r["profile"])
            if not args.keep:
                for f in workdir.glob(f"{size}.*"):
                    f.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(table(results))
    print()
    print(detail_table(results))
    print()
    print(policy_table(results))
    print()
    for name, ok, value in _verdicts(results):
        print(f"{'MET   ' if ok else 'MISSED'} {name}: {value}")
    Path(ROOT / "bench" / "last_results.json").write_text(
        json.dumps({"machine": info, "results": {k: {x: y for x, y in v.items() if x != "profile"}
                                                 for k, v in results.items()}}, indent=2))


if __name__ == "__main__":
    main()
