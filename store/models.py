"""SQLAlchemy 2 typed models: the organization, projects, users, admin grants, the audit.

Uniqueness lives here as constraints, not as checks in Python: one organization row,
project keys, a live (not deleted) user's email case-insensitively, a Slack user id.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STATUSES = ("active", "pending", "deactivated", "deleted")
LEVELS = ("view-only", "assistant", "super")


class ApprovalStatus(StrEnum):
    """`ApprovalRequest.status`: pending until approved, denied or expired; failed when
    an approved change no longer holds. A StrEnum: the stored strings stay these values,
    the ones the CHECK constraint accepts."""

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    FAILED = "failed"


class ScheduledStatus(StrEnum):
    """`ScheduledChange.status`: pending until the cycle's end runs or cancels it."""

    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    """`OutboxMessage.status`: pending -> sending -> sent, or failed for good."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}  # noqa: RUF012


class Organization(Base):
    """One per deployment. Every writing transaction bumps `write_seq` first: that row
    lock serialises writers on PostgreSQL and SQLite alike, so invariants checked inside
    the transaction cannot race."""

    __tablename__ = "organization"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    write_seq: Mapped[int] = mapped_column(Integer, default=0)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class Membership(Base):
    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        # A deleted user's email is free for reuse: unique among live users only.
        Index(
            "uq_users_live_email",
            "email_key",
            unique=True,
            sqlite_where=text("status != 'deleted'"),
            postgresql_where=text("status != 'deleted'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254))  # casefolded email
    status: Mapped[str] = mapped_column(String(12))
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    first_login_at: Mapped[datetime | None]
    # the identity provider's own id for this user (SCIM `externalId`), kept as sent
    external_id: Mapped[str | None] = mapped_column(String(255), index=True)

    projects: Mapped[list[Project]] = relationship(
        secondary="memberships", order_by=Project.key, lazy="selectin"
    )
    grant: Mapped[AdminGrant | None] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )


class AdminGrant(Base):
    """One admin grant per user. `level` is the assigned level (None: removal pending),
    `effective_level` what the admin's sessions hold (None: grant not yet applied)."""

    __tablename__ = "admin_grants"
    __table_args__ = (
        CheckConstraint(f"level IS NULL OR level IN {LEVELS!r}", name="level"),
        CheckConstraint(
            f"effective_level IS NULL OR effective_level IN {LEVELS!r}", name="effective_level"
        ),
        CheckConstraint("level IS NOT NULL OR effective_level IS NOT NULL", name="some_level"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    level: Mapped[str | None] = mapped_column(String(12))
    effective_level: Mapped[str | None] = mapped_column(String(12))
    all_projects: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime]

    user: Mapped[User] = relationship(back_populates="grant")
    scope: Mapped[list[Project]] = relationship(
        secondary="admin_scopes", order_by=Project.key, lazy="selectin"
    )


class AdminScope(Base):
    __tablename__ = "admin_scopes"

    user_id: Mapped[int] = mapped_column(ForeignKey("admin_grants.user_id"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)


class AuditEvent(Base):
    """Append-only history: every change, refused attempt and login.

    Events that change a user also carry the user's whole billing state afterwards
    (`status_after`, `level_after`, `effective_after` as level ranks 0-3), so billing
    folds history with plain SQL instead of replaying JSON.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_subject_at", "subject_user_id", "at", "id"),
        Index("ix_audit_at", "at", "action", "outcome"),  # covers a cycle summary's counts
        # Covers billing's fold of user states (store/usage.py) without touching the table.
        Index(
            "ix_audit_states",
            "subject_user_id", "at", "id", "status_after", "level_after", "effective_after",
            sqlite_where=text("status_after IS NOT NULL"),
            postgresql_where=text("status_after IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    via: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(10))  # "ok" or "refused"
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str | None] = mapped_column(String(254))
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    subject: Mapped[str | None] = mapped_column(String(254))
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    status_after: Mapped[str | None] = mapped_column(String(12))
    level_after: Mapped[int | None] = mapped_column(SmallInteger)
    effective_after: Mapped[int | None] = mapped_column(SmallInteger)


class BillingTerms(Base):
    """Billing settings, versioned. The version with `effective_from` NULL governs from
    the start; after the first final invoice a change becomes a new version effective
    when the running cycle ends (DESIGN section 2). Prices are exact decimal strings."""

    __tablename__ = "billing_terms"
    __table_args__ = (
        CheckConstraint("cycle IN ('monthly', 'fixed-30')", name="cycle"),
        CheckConstraint(
            "user_policy IN ('any-time', 'end-of-cycle', 'prorated')", name="user_policy"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    effective_from: Mapped[datetime | None] = mapped_column(unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    cycle: Mapped[str] = mapped_column(String(10))
    anchor: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    user_price: Mapped[str] = mapped_column(String(24))
    super_price: Mapped[str] = mapped_column(String(24))
    assistant_price: Mapped[str] = mapped_column(String(24))
    view_only_price: Mapped[str] = mapped_column(String(24))
    user_policy: Mapped[str] = mapped_column(String(12))
    recorded_at: Mapped[datetime]


class Invoice(Base):
    """A final invoice: one per cycle (the unique start), never changed afterwards
    (database triggers refuse UPDATE and DELETE). Drafts are computed, not stored."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_start: Mapped[datetime] = mapped_column(unique=True)
    cycle_end: Mapped[datetime]
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[str] = mapped_column(String(24))
    active_users: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict[str, Any]]  # the invoice JSON of DESIGN section 7
    finalized_at: Mapped[datetime]


class StatePeriod(Base):
    """History as periods: each user's billing state and the stretch `[start, stop)` it was
    held, `stop` = `FOREVER` while it still holds (store/periods.py).

    A projection of `audit_events`, written in the same transaction as each event that
    records a state: the state an event leaves is held from its instant until the user's
    next different state; a state replaced at the same instant is never held, so it has no
    period. Neighbouring periods of one user always differ. Billing reads one cycle as the
    active periods that overlap it, a range of `ix_state_periods_active`.
    """

    __tablename__ = "state_periods"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint("start < stop", name="not_empty"),
        # `status` too, though constant here: SQLite reads an index as covering only when
        # it holds every column the query names
        Index(
            "ix_state_periods_active",
            "stop", "start", "user_id", "level", "effective", "status",
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        {"sqlite_with_rowid": False},  # clustered by (user_id, start) on SQLite
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    start: Mapped[datetime] = mapped_column(primary_key=True)
    stop: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))
    level: Mapped[int] = mapped_column(SmallInteger)  # assigned, as a rank 0-3
    effective: Mapped[int] = mapped_column(SmallInteger)


class OutboxMessage(Base):
    """A Slack post recorded in the same transaction as its cause and sent after commit
    (bot/outbox.py). `key` makes a post unique (one summary per cycle, even from two
    schedulers); `status` moves pending -> sending -> sent, so it is sent once."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(40))  # chat.postMessage, chat.update
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    ts: Mapped[str | None] = mapped_column(String(40))  # the posted message, to update it
    last_error: Mapped[str | None] = mapped_column(String(500))


class ScheduledChange(Base):
    """A level change or deactivation that runs at a cycle's end (DESIGN section 2)."""

    __tablename__ = "scheduled_changes"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'cancelled', 'failed')", name="status"),
        Index("ix_scheduled_due", "status", "run_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))  # set_level, deactivate
    level: Mapped[str | None] = mapped_column(String(12))
    projects: Mapped[dict[str, Any] | None]  # {"keys": [...]} or None for all projects
    run_at: Mapped[datetime]
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10))
    done_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)


class ApprovalRequest(Base):
    """An assistant's change waiting for a SUPER (DESIGN section 4). The first decision
    wins: deciding is an UPDATE that only matches while the request is pending."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'approved', 'denied', 'expired', 'failed')", name="status"
        ),
        Index("ix_approvals_due", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(20))  # set_admin, create_user, activate_user
    change: Mapped[dict[str, Any]]
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    approvals_needed: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(10))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    hint: Mapped[str | None] = mapped_column(Text)


class Approval(Base):
    """One SUPER's yes on a request; a second SUPER is needed above the cost threshold."""

    __tablename__ = "approvals"

    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"),
                                            primary_key=True)
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    at: Mapped[datetime]


class ApprovalPolicy(Base):
    """The organization's approval policy (DESIGN section 4); one row."""

    __tablename__ = "approval_policy"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seat_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    cost_threshold: Mapped[str | None] = mapped_column(String(24))  # None: off
    expiry_hours: Mapped[int] = mapped_column(Integer, default=24)


class ScimToken(Base):
    """A bearer token the identity provider's directory presents (DESIGN section 10).
    Only the SHA-256 of the token is kept (a random 256-bit secret needs no slow hash);
    requests are looked up by it. The directory acts as `created_by`."""

    __tablename__ = "scim_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, hex
    created_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]  # recorded at most once a minute
    revoked_at: Mapped[datetime | None]


class SeenSignature(Base):
    """A signed webhook request already received (bot/services/replay.py). The primary key
    refuses a replay inside the signature window, across every process sharing the
    database; rows whose signed instant is long out of the window are deleted."""

    __tablename__ = "seen_signatures"
    __table_args__ = (Index("ix_seen_signatures_signed_at", "signed_at"),)

    signature: Mapped[str] = mapped_column(String(80), primary_key=True)  # "v0=" + hex
    signed_at: Mapped[datetime]  # the request's timestamp
    received_at: Mapped[datetime]
