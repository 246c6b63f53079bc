"""Billing over the store: the terms in force, the cycle calendar, invoices as JSON."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.calendar import BillingCalendar, Version
from billing.cycles import Cycle, CycleRule
from billing.invoice import Invoice, price_cycle
from billing.model import Level
from billing.terms import Terms, UserPolicy
from billing.usage import day_starts
from store import usage as usage_sql
from store.models import BillingTerms, Organization
from store.models import Invoice as InvoiceRow


def calendar(session: Session, org: Organization) -> BillingCalendar:
    """Every settings version of the organization, as its billing calendar."""
    rows = session.scalars(select(BillingTerms)).all() or [default_terms(org)]
    return BillingCalendar.of(
        Version(row.effective_from or org.created_at,
                CycleRule(timezone=row.timezone, kind=row.cycle, anchor=row.anchor),
                Terms(currency=row.currency, user_price=Decimal(row.user_price),
                      admin_prices={Level.SUPER: Decimal(row.super_price),
                                    Level.ASSISTANT: Decimal(row.assistant_price),
                                    Level.VIEW_ONLY: Decimal(row.view_only_price)},
                      user_policy=UserPolicy(row.user_policy), timezone=row.timezone))
        for row in rows)


def default_terms(org: Organization) -> BillingTerms:
    """Until configured: UTC, monthly from the day the organization was created, USD, free."""
    return BillingTerms(
        effective_from=None, timezone="UTC", cycle="monthly", anchor=org.created_at.date(),
        currency="USD", user_price="0", super_price="0", assistant_price="0",
        view_only_price="0", user_policy="any-time", recorded_at=org.created_at,
    )


def compute(session: Session, cycle: Cycle, terms: Terms) -> Invoice:
    days = day_starts(cycle, terms.zone)
    used = usage_sql.cycle_usage(session, cycle, days, terms.user_policy)
    return price_cycle(cycle, terms, used.seats, used.user_days, used.admins,
                       days_in_cycle=len(days) - 1)


def document(invoice: Invoice, status: str, zone: Any) -> dict[str, Any]:
    """The invoice JSON of DESIGN section 7; instants carry the billing zone's offset."""
    return {
        "cycle_start": invoice.cycle.start.astimezone(zone).isoformat(),
        "cycle_end": invoice.cycle.end.astimezone(zone).isoformat(),
        "status": status,
        "currency": invoice.currency,
        "active_users": invoice.active_users,
        "users": list(invoice.users),
        "admins": {email: level.label for email, level in invoice.admins.items()},
        "lines": [
            {"description": line.description, "quantity": line.quantity,
             "unit_price": str(line.unit_price), "amount": str(line.amount),
             **({"per_days": line.per_days} if line.per_days else {})}
            for line in invoice.lines
        ],
        "total": str(invoice.total),
    }


def final_cycle_starts(session: Session) -> set[datetime]:
    return set(session.scalars(select(InvoiceRow.cycle_start)))


def final_invoice(session: Session, cycle_start: datetime) -> InvoiceRow | None:
    return session.scalar(select(InvoiceRow).where(InvoiceRow.cycle_start == cycle_start))


def final_documents(session: Session) -> list[dict[str, Any]]:
    return list(session.scalars(select(InvoiceRow.document).order_by(InvoiceRow.cycle_start)))
