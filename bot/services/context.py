"""What every service is given: the unit of work, the clock, the password hasher, the
posting channels, and the hook every writing transaction runs first. Built once, in
`bot/bootstrap.py`. The steps a service takes live beside it, one job per module:
`transactions` (writing, reading, what a database error means), `actors` (who acts, on
whom), `audit` (what happened), `refusals` (what was refused), `warning_posts`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.orm import Session

from bot.clock import Clock
from store.uow import UnitOfWork


class Via(StrEnum):
    SLACK = "slack"
    CLI = "cli"
    WEBHOOK = "webhook"
    SCHEDULER = "scheduler"
    SCIM = "scim"  # the identity provider's directory (handlers/scim/)


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...


@dataclass(frozen=True)
class Channels:
    """Where automated posts go (ROLLCALL_BILLING_CHANNEL, ROLLCALL_APPROVALS_CHANNEL)."""

    billing: str | None = None
    approvals: str | None = None


BeforeWrite = Callable[["Context", Session, datetime], list[str]]


@dataclass
class Context:
    uow: UnitOfWork
    clock: Clock
    hasher: Hasher
    channels: Channels = field(default_factory=Channels)
    # runs first in every writing transaction, at its `now`, and says what it ran
    # (bootstrap gives `scheduled.apply_due`: due scheduled changes before any write)
    before_write: BeforeWrite | None = None
