"""The scheduler: APScheduler 3 drives one reconciler, and the database decides what is
due, so a missed or late run is never lost (DESIGN section 3).

Each pass: run the scheduled changes that are due (each at its own boundary instant),
close every ended cycle (oldest first, its summary recorded in the outbox), expire
approval requests past their time, record the heads-up and the integrity check (no
SUPER left; once a day, the state periods against the audit) when due, then send the
outbox. Every step is idempotent in the database, so two
schedulers at once (a clock process and an embedded one, by mistake) still do each
thing once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.cycles import Cycle
from billing.model import Level
from billing.wording import short_date
from bot import charts, posts
from bot.errors import NotInitialised
from bot.outbox import deliver_due
from bot.services import billing as billing_service
from bot.services import billing_store as bs
from bot.services import maintenance
from bot.services.approvals import expire_requests
from bot.services.context import Context, Via
from bot.services.scheduled import run_due_changes
from bot.services.transactions import reading, writing
from bot.services.views import user_view
from store import repository
from store.models import AuditEvent, ScheduledChange, ScheduledStatus, User
from store.outbox import enqueue, recorded

log = logging.getLogger("rollcall.scheduler")
HEADS_UP = timedelta(days=3)
INTERVAL_SECONDS = 60


@dataclass
class Pass:
    """What one reconciler pass did."""

    closed: list[str] = field(default_factory=list)
    posted: int = 0
    recorded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # steps that raised (logged)


def reconcile(ctx: Context, client: WebClient | None = None) -> Pass:
    """One pass. Each step stands alone: one that fails is logged and listed in
    `failed`, and the others still run (the outbox above all, so warnings go out)."""
    done = Pass()

    def step(name: str, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except NotInitialised:
            raise
        except Exception:  # the next pass tries again; each step is one transaction
            log.exception("scheduler step %s failed", name)
            done.failed.append(name)
            return None

    # the due changes first: they run at the boundary, before the close
    done.recorded += step("scheduled changes", lambda: run_due_changes(ctx)) or []
    closed = step("cycle close", lambda: billing_service.close_due_cycles(
        ctx, via=Via.SCHEDULER)) or []
    done.closed = [v.document["cycle_start"] for v in closed]
    done.recorded += step("approval expiry", lambda: expire_requests(ctx)) or []
    done.recorded += step("heads-up", lambda: heads_up(ctx)) or []
    done.recorded += step("integrity check", lambda: integrity_check(ctx)) or []
    if client is not None:
        done.posted = step("outbox", lambda: deliver_due(ctx, client)) or 0
    return done


def heads_up(ctx: Context) -> list[str]:
    """Once per cycle, HEADS_UP before it ends: the estimate and what will change.

    Whether it is due is read first, without the writers' lock; the estimate (a whole
    invoice) is computed only when the post is actually recorded, once per cycle.
    """
    with reading(ctx) as session:
        billing_calendar = bs.calendar(session, repository.organization(session))
        now = ctx.clock.now()
        cycle = billing_calendar.cycle_containing(now)
        key = f"headsup:{cycle.start.isoformat()}"
        if now < cycle.end - HEADS_UP or not ctx.channels.billing or recorded(session, key):
            return []
    with writing(ctx) as (session, now):
        terms = billing_calendar.terms_for(cycle)
        doc = bs.document(bs.compute(session, cycle, terms), "draft", terms.zone)
        facts = heads_up_facts(session, cycle, terms.zone)
        payload = posts.heads_up(doc, **facts)
        return [key] if enqueue(session, key=key, channel=ctx.channels.billing,
                                payload=payload, now=now) else []


def integrity_check(ctx: Context) -> list[str]:
    """Warn when no active SUPER over all projects is left, and once a day when the state
    periods bills are read from no longer match the audit (both: a manual DB edit)."""
    return _no_super_left(ctx) + maintenance.daily_check(ctx)


def _no_super_left(ctx: Context) -> list[str]:
    with reading(ctx) as session:
        key = f"integrity:{ctx.clock.now().date().isoformat()}"
        if repository.count_org_supers(session) > 0 or recorded(session, key):
            return []
    with writing(ctx) as (session, now):
        text = ("Integrity check: there is no active SUPER admin over all projects. "
                "Someone changed the database directly; make a user SUPER over all "
                "projects (`rollcall admins set EMAIL super`) as soon as possible.")
        return [key] if enqueue(session, key=key, channel=ctx.channels.billing,
                                payload=posts.warning(text), now=now) else []


def heads_up_facts(session: Session, cycle: Cycle, zone: ZoneInfo) -> dict[str, list[str]]:
    """Admins upgraded this cycle and downgrades still pending (they bill the old level)."""
    e = AuditEvent
    upgraded = []
    for event in session.scalars(select(e).where(
            e.at >= cycle.start, e.at < cycle.end, e.outcome == "ok",
            e.action.in_(("admin.set", "admin.apply", "user.login"))).order_by(e.at)):
        was = Level.parse(str((event.before or {}).get("level") or "none"))
        now = Level.parse(str((event.after or {}).get("level") or "none"))
        if event.action == "admin.set" and now > was:
            upgraded.append(f"{event.subject}: {now.title} since {short_date(event.at, zone)}")
    pending = [f"{u.email}: {u.level.title if u.level else 'removal'}, still "
               f"{u.effective_level.title} until their next login"
               for u in map(user_view, repository.admins(session))
               if u.pending and u.effective_level > u.level]
    scheduled = [f"{u.first_name} {u.last_name} ({u.email}): "
                 f"{Level.parse(c.level).title if c.level else 'deactivated'}"
                 for c, u in session.execute(
                     select(ScheduledChange, User).join(User, ScheduledChange.user_id == User.id)
                     .where(ScheduledChange.status == ScheduledStatus.PENDING,
                            ScheduledChange.run_at == cycle.end))]
    return {"scheduled": scheduled, "upgraded": upgraded, "pending_downgrades": pending}


def run_forever(ctx: Context, client: WebClient | None, *, blocking: bool = True) -> Any:
    """Run `reconcile` now and every INTERVAL_SECONDS. APScheduler's own catch-up is not
    relied on: a late or missed run changes nothing, the database says what is due."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    def tick() -> None:
        try:
            done = reconcile(ctx, client)
            if done.closed or done.recorded or done.posted:
                log.info("closed %s, recorded %s, posted %d", done.closed, done.recorded,
                         done.posted)
        except NotInitialised:
            log.info("nothing to schedule until `rollcall init` has run")
        except Exception:  # the next tick tries again; nothing half-written
            log.exception("scheduler pass failed")

    # a close's chart is drawn by this process: matplotlib loads now, not at the close
    threading.Thread(target=charts.warm_up, name="charts-warm-up", daemon=True).start()
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    # APScheduler keeps real time; the first pass runs at once, then every interval
    scheduler.add_job(tick, "interval", seconds=INTERVAL_SECONDS, id="reconcile",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.start()
    return scheduler
