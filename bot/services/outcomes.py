"""What an intention ends in, as plain values both layers import (no cycle: this module
imports only values). A listener renders one by matching its type:

- `Created`: a new user (with, for an ASSISTANT's admin level, the request for the role);
- `Changed`: a change made, or already so (`outcome.changed` is False);
- `NeedsConfirmation`: a SUPER's change that passed every check, with its cost hint, to be
  confirmed before it is made;
- `Requested`: what became an approval request (DESIGN section 4)."""

from __future__ import annotations

from dataclasses import dataclass

from billing.model import Level
from bot.services.views import Outcome, UserView


@dataclass(frozen=True)
class Requested:
    id: int
    message: str


@dataclass(frozen=True)
class Created:
    user: UserView
    message: str
    role_request: Requested | None = None  # an ASSISTANT's admin level for the new user


@dataclass(frozen=True)
class Changed:
    outcome: Outcome

    @property
    def message(self) -> str:
        return self.outcome.message


@dataclass(frozen=True)
class NeedsConfirmation:
    """A change checked as if made now (then rolled back): `message` is its cost hint;
    `suggestion` offers to schedule it ("at-cycle-end", "at-next-cycle"), or None. The
    change itself (email as stored, level, checked project keys, None: all) is what the
    confirmation sends back."""

    email: str
    level: Level
    projects: list[str] | None
    message: str
    suggestion: str | None = None
