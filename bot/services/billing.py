"""Billing services: settings, the running estimate, invoices, closing cycles, cost hints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.calendar import BillingCalendar
from billing.cycles import Cycle, CycleRule, local_midnight
from billing.model import Level
from billing.money import currency_code, parse_price, round_money
from billing.terms import Terms, UserPolicy
from billing.wording import short_date
from bot import posts
from bot.errors import InvalidInput, NotFound
from bot.rules import require_org_super, require_viewer
from bot.services import billing_files
from bot.services import billing_store as bs
from bot.services.actors import load_actor
from bot.services.audit import record
from bot.services.context import Context, Via
from bot.services.refusals import refusing
from bot.services.transactions import reading, writing
from store import repository
from store.models import AuditEvent, BillingTerms
from store.models import Invoice as InvoiceRow
from store.outbox import enqueue

LEVEL_COLUMNS = {Level.SUPER: "super_price", Level.ASSISTANT: "assistant_price",
                 Level.VIEW_ONLY: "view_only_price"}


@refusing("billing.configure")
def configure_billing(
    ctx: Context,
    *,
    actor: str,
    via: Via,
    timezone: str | None = None,
    cycle: str | None = None,
    anchor: date | None = None,
    currency: str | None = None,
    user_price: str | None = None,
    admin_prices: dict[Level, str] | None = None,
    user_policy: str | None = None,
) -> str:
    """Free to change until the first final invoice; then from the running cycle's end."""
    changes = _validated(timezone, cycle, anchor, currency, user_price, admin_prices,
                         user_policy)
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        require_org_super(acting, "Changing billing settings")
        org = repository.organization(session)
        current = session.scalars(select(BillingTerms)).all()
        if not bs.final_cycle_starts(session):
            base = next((r for r in current if r.effective_from is None), None)
            if base is None:
                base = bs.default_terms(org)
                session.add(base)
            session.execute(delete(BillingTerms).where(BillingTerms.effective_from.is_not(None)))
            _apply(base, changes, now)
            _check(base)
            message = "Billing settings saved; they apply from the first cycle."
        else:
            # a new version recorded now takes effect when the running cycle ends; a later
            # change within the same cycle builds on (and replaces) the waiting one
            billing_calendar = bs.calendar(session, org)
            running = billing_calendar.cycle_containing(now)
            latest = max(current, key=lambda r: r.effective_from or org.created_at)
            waiting = latest.effective_from is not None and latest.effective_from >= running.start
            version = latest if waiting else _copy(latest, now)
            version.effective_from = now
            session.add(version)
            _apply(version, changes, now)
            _check(version)
            message = ("Billing settings saved; they take effect when the running cycle "
                       f"ends, on {short_date(running.end, billing_calendar.latest.zone)}.")
        record(session, at=now, via=via, action="billing.configure", actor=acting_user,
               subject=None, before=None, reason=", ".join(f"{k}={v}" for k, v in changes.items()))
    return message


def _validated(timezone: str | None, cycle: str | None, anchor: date | None,
               currency: str | None, user_price: str | None,
               admin_prices: dict[Level, str] | None, user_policy: str | None) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    try:
        if timezone is not None:
            CycleRule(timezone=timezone, kind="monthly", anchor=date(2000, 1, 1))
            changes["timezone"] = timezone
        if cycle is not None:
            CycleRule(timezone="UTC", kind=cycle, anchor=date(2000, 1, 1))
            changes["cycle"] = cycle
        if anchor is not None:
            changes["anchor"] = anchor
        if currency is not None:
            changes["currency"] = currency_code(currency)
        if user_price is not None:
            changes["user_price"] = parse_price(user_price)
        for level, price in (admin_prices or {}).items():
            changes[LEVEL_COLUMNS[level]] = parse_price(price)
        if user_policy is not None:
            changes["user_policy"] = UserPolicy(user_policy).value
    except (ValueError, KeyError, InvalidOperation) as exc:
        raise InvalidInput(f"That billing setting is not valid: {exc}") from exc
    if not changes:
        raise InvalidInput("Say what to change, e.g. --user-price 10.00 or --timezone UTC.")
    return changes


def _apply(row: BillingTerms, changes: dict[str, Any], now: datetime) -> None:
    """Set the changes; every price is then written in the currency's minor unit
    (`50` -> `50.00`), refusing one finer than the currency allows (JPY `10.5`).

    A new currency with prices already set must restate every price that is set: $10.00
    is not 10.00 EUR, and silently keeping the number would bill it."""
    new_currency = changes.get("currency")
    if new_currency is not None and new_currency != row.currency:
        kept = [column for column in ("user_price", *LEVEL_COLUMNS.values())
                if Decimal(getattr(row, column)) > 0 and column not in changes]
        if kept:
            names = ", ".join(c.replace("_price", "").replace("_", "-") for c in kept)
            raise InvalidInput(
                f"The prices are in {row.currency}; changing the currency to "
                f"{new_currency} needs them restated in {new_currency} in the same change "
                f"(set: {names}), e.g. --currency {new_currency} --user-price P "
                "--admin-price super=P.")
    for name, value in changes.items():
        setattr(row, name, value)
    for column in ("user_price", *LEVEL_COLUMNS.values()):
        price = Decimal(getattr(row, column))
        rounded = round_money(price, row.currency)
        if rounded != price:
            raise InvalidInput(f"{price} has more decimals than {row.currency} allows; "
                               f"use {rounded}.")
        setattr(row, column, str(rounded))
    row.recorded_at = now


def _check(row: BillingTerms) -> None:
    try:
        Terms(currency=row.currency, user_price=Decimal(row.user_price),
              admin_prices={lvl: Decimal(getattr(row, col)) for lvl, col in LEVEL_COLUMNS.items()},
              user_policy=UserPolicy(row.user_policy), timezone=row.timezone)
    except ValueError as exc:
        raise InvalidInput(f"Those billing settings do not fit together: {exc}") from exc


def _copy(row: BillingTerms, effective_from: datetime) -> BillingTerms:
    fields = {c: getattr(row, c) for c in ("timezone", "cycle", "anchor", "currency",
                                           "user_price", "user_policy", *LEVEL_COLUMNS.values())}
    return BillingTerms(effective_from=effective_from, recorded_at=row.recorded_at, **fields)


UNPRICED = ("No prices are set, so every amount is 0.00: a SUPER over all projects sets "
            "them with `/billing settings` or `rollcall billing configure --user-price P "
            "--admin-price super=P`.")


@dataclass(frozen=True)
class InvoiceView:
    document: dict[str, Any]
    notice: str | None = None  # said beside the invoice: no prices set, for instance

    @property
    def final(self) -> bool:
        return self.document["status"] == "final"


def _viewer(session: Session, actor: str | None) -> None:
    if actor is not None:
        require_viewer(load_actor(session, actor)[1])


def invoice_on(ctx: Context, *, day: date | None = None, actor: str | None = None) -> InvoiceView:
    """The invoice of the cycle containing `day` (a billing-zone date), or of now."""
    with reading(ctx) as session:
        _viewer(session, actor)
        org = repository.organization(session)
        billing_calendar = bs.calendar(session, org)
        now = ctx.clock.now()
        zone = billing_calendar.terms_at(now).zone
        at = now if day is None else local_midnight(zone, day)
        cycle = billing_calendar.cycle_containing(at)
        first = billing_calendar.cycle_containing(org.created_at)
        if cycle.start < first.start:
            raise NotFound("Rollcall did not exist yet in that cycle; pick a later date.")
        if cycle.start > now:
            raise NotFound("That cycle has not started yet; pick an earlier date.")
        stored = bs.final_invoice(session, cycle.start)
        if stored is not None:
            return InvoiceView(stored.document)
        terms = billing_calendar.terms_for(cycle)
        return InvoiceView(bs.document(bs.compute(session, cycle, terms), "draft", terms.zone),
                           None if terms.priced else UNPRICED)


def invoices(ctx: Context, *, actor: str | None = None) -> list[InvoiceView]:
    """Every final invoice, oldest first, then the running cycle's draft."""
    with reading(ctx) as session:
        _viewer(session, actor)
        finals = [InvoiceView(doc) for doc in bs.final_documents(session)]
    return [*finals, invoice_on(ctx, actor=actor)]


def _due(session: Session, now: datetime) -> tuple[Cycle, BillingCalendar] | None:
    """The oldest ended cycle without a final invoice, and the billing calendar."""
    org = repository.organization(session)
    billing_calendar = bs.calendar(session, org)
    finals = bs.final_cycle_starts(session)
    due = next((c for c in billing_calendar.cycles_between(org.created_at, now)
                if c.end <= now and c.start not in finals), None)
    return None if due is None else (due, billing_calendar)


def close_due_cycles(ctx: Context, *, via: Via) -> list[InvoiceView]:
    """Finalize every ended cycle without a final invoice, oldest first, one transaction
    each. Two closers at once still make one invoice per cycle (the unique cycle start).

    What is due is read first without the writers' lock, so the scheduler's pass every
    minute writes nothing when nothing is due; it is read again under the lock."""
    closed = []
    while True:
        with reading(ctx) as session:
            if _due(session, ctx.clock.now()) is None:
                return closed
        try:
            with writing(ctx) as (session, now):
                found = _due(session, now)
                if found is None:
                    return closed  # another closer finished first
                due, billing_calendar = found
                terms = billing_calendar.terms_for(due)
                doc = bs.document(bs.compute(session, due, terms), "final", terms.zone)
                session.add(InvoiceRow(cycle_start=due.start, cycle_end=due.end,
                                       currency=terms.currency, total=doc["total"],
                                       active_users=doc["active_users"], document=doc,
                                       finalized_at=now))
                session.flush()
                record(session, at=now, via=via, action="billing.close", actor=None,
                       subject=None, before=None, reason=doc["cycle_start"])
                enqueue(session, key=f"summary:{due.start.isoformat()}",
                        channel=ctx.channels.billing, now=now, payload=posts.cycle_summary(
                            doc, cycle_changes(session, due, terms.zone),
                            _previous_total(session, due)))
                for key, payload in billing_files.summary_files(due.start.isoformat()):
                    enqueue(session, key=key, channel=ctx.channels.billing, now=now,
                            payload=payload, method=billing_files.UPLOAD)
            closed.append(InvoiceView(doc))
        except IntegrityError:
            continue  # another closer finalized it first: look for the next one


def cycle_of(ctx: Context, at: datetime) -> tuple[Cycle, Terms]:
    with reading(ctx) as session:
        billing_calendar = bs.calendar(session, repository.organization(session))
        cycle = billing_calendar.cycle_containing(at)
        return cycle, billing_calendar.terms_for(cycle)


def current_settings(ctx: Context, *, actor: str) -> dict[str, str]:
    """The latest settings as text, for the settings form (a SUPER over all projects)."""
    with reading(ctx) as session:
        _, acting = load_actor(session, actor)
        require_org_super(acting, "Changing billing settings")
        org = repository.organization(session)
        rows = session.scalars(select(BillingTerms)).all() or [bs.default_terms(org)]
        latest = max(rows, key=lambda r: r.effective_from or org.created_at)
        return {"timezone": latest.timezone, "cycle": latest.cycle,
                "anchor": latest.anchor.isoformat(), "currency": latest.currency,
                "user_price": latest.user_price, "super_price": latest.super_price,
                "assistant_price": latest.assistant_price,
                "view_only_price": latest.view_only_price, "user_policy": latest.user_policy}


CHANGE_WORDS = {"user.create": "added", "user.activate": "activated",
                "user.deactivate": "deactivated", "user.delete": "deleted",
                "admin.set": "admin role set", "admin.remove": "admin role removed",
                "admin.apply": "admin change applied", "admin.scheduled": "scheduled change run"}


def cycle_changes(session: Session, cycle: Cycle, zone: Any, limit: int = 15) -> list[str]:
    """The cycle's changes for its summary: a count per kind, then the first few."""
    e = AuditEvent
    in_cycle = (e.at >= cycle.start, e.at < cycle.end, e.outcome == "ok",
                e.action.in_(CHANGE_WORDS))
    counts = dict(session.execute(select(e.action, func.count()).where(*in_cycle)
                                  .group_by(e.action)).all())
    if not counts:
        return []
    lines = [", ".join(f"{n} {CHANGE_WORDS[a]}" for a, n in sorted(counts.items()))]
    for event in session.scalars(select(e).where(*in_cycle).order_by(e.at, e.id).limit(limit)):
        level = ""
        if event.action.startswith("admin") and event.after:
            level = f" ({event.after.get('level')}, applied: {event.after.get('effective_level')})"
        by = f" by {event.actor}" if event.actor and event.actor != event.subject else ""
        lines.append(f"{short_date(event.at, zone)}: {event.subject} "
                     f"{CHANGE_WORDS[event.action]}{level}{by}")
    return lines


def _previous_total(session: Session, cycle: Cycle) -> str | None:
    return session.scalar(select(InvoiceRow.total).where(InvoiceRow.cycle_start < cycle.start)
                          .order_by(InvoiceRow.cycle_start.desc()).limit(1))
