"""The billing settings as they are and were, read only (`rollcall billing settings`).

Each stored version of the settings (`billing_terms`) with the instant from which it cuts
the cycles: the first version from the first cycle; a later one from the end of the
cycle in which it was recorded (DESIGN section 2). Until the first invoice is final a
change rewrites the first version, so the audit's `billing.configure` events are listed
too: who changed what, and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from billing.cycles import CycleRule
from billing.schedule import CycleSchedule
from bot.rules import require_viewer
from bot.services import billing_store as bs
from bot.services.actors import load_actor
from bot.services.context import Context
from bot.services.transactions import reading
from store import repository
from store.models import AuditEvent, BillingTerms

PRICES = (("user", "user_price"), ("super", "super_price"),
          ("assistant", "assistant_price"), ("view-only", "view_only_price"))


@dataclass(frozen=True)
class SettingsVersion:
    starts: datetime  # from this instant on it cuts and prices the cycles
    recorded_at: datetime
    state: str  # "past", "in force", "waiting" or "replaced" (never took effect)
    values: dict[str, Any]  # timezone, cycle, anchor, currency, prices, user_policy

    def as_json(self, zone: ZoneInfo) -> dict[str, Any]:
        return {**self.values, "anchor": self.values["anchor"].isoformat(),
                "state": self.state, "from": self.starts.astimezone(zone).isoformat(),
                "recorded_at": self.recorded_at.astimezone(zone).isoformat()}


@dataclass(frozen=True)
class SettingsChange:
    at: datetime
    actor: str | None
    via: str
    what: str


@dataclass(frozen=True)
class BillingSettings:
    versions: list[SettingsVersion]  # oldest first
    changes: list[SettingsChange]  # newest first
    configured: bool  # False: the defaults, never configured
    zone: ZoneInfo  # the time zone in force, for showing instants

    @property
    def in_force(self) -> SettingsVersion:
        return next(v for v in self.versions if v.state == "in force")

    @property
    def waiting(self) -> list[SettingsVersion]:
        return [v for v in self.versions if v.state == "waiting"]

    def as_json(self) -> dict[str, Any]:
        return {"configured": self.configured,
                "in_force": self.in_force.as_json(self.zone),
                "waiting": [v.as_json(self.zone) for v in self.waiting],
                "versions": [v.as_json(self.zone) for v in self.versions],
                "changes": [{"at": c.at.astimezone(self.zone).isoformat(), "actor": c.actor,
                             "via": c.via, "change": c.what} for c in self.changes]}


def billing_settings(ctx: Context, *, actor: str | None = None) -> BillingSettings:
    """Any admin may read them (an invoice shows the prices anyway); without an actor,
    the operator at the machine. Nothing is changed."""
    with reading(ctx) as session:
        if actor is not None:
            require_viewer(load_actor(session, actor)[1])
        org = repository.organization(session)
        stored = session.scalars(select(BillingTerms)).all()
        rows = sorted(stored or [bs.default_terms(org)],
                      key=lambda r: r.effective_from or org.created_at)
        eras = [(r.effective_from or org.created_at,
                 CycleRule(timezone=r.timezone, kind=r.cycle, anchor=r.anchor)) for r in rows]
        first = CycleSchedule(eras[:1]).cycle_containing(org.created_at).start
        values = [(r.recorded_at, _values(r)) for r in rows]
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "billing.configure",
                                     AuditEvent.outcome == "ok")
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(50)).all()
        changes = [SettingsChange(e.at, e.actor, e.via, e.reason or "") for e in events]
    starts = [first] + [CycleSchedule(eras[:i]).cycle_containing(eras[i][0]).end
                        for i in range(1, len(eras))]
    current = CycleSchedule(eras).version_at(ctx.clock.now())
    versions = []
    for i, (recorded_at, settings) in enumerate(values):
        replaced = any(later <= starts[i] for later in starts[i + 1:])
        state = ("replaced" if replaced else "in force" if i == current
                 else "past" if i < current else "waiting")
        versions.append(SettingsVersion(starts[i], recorded_at, state, settings))
    zone = ZoneInfo(values[current][1]["timezone"])
    return BillingSettings(versions, changes, bool(stored), zone)


def _values(row: BillingTerms) -> dict[str, Any]:
    return {"timezone": row.timezone, "cycle": row.cycle, "anchor": row.anchor,
            "currency": row.currency, "user_policy": row.user_policy,
            "prices": {level: getattr(row, column) for level, column in PRICES}}
