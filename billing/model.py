"""Domain values shared by every layer: admin levels, user statuses, a subject's state.

Standard library only: `billing/` is the functional core and imports no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum


class Level(IntEnum):
    """Admin levels, ordered: SUPER > ASSISTANT > VIEW ONLY > none."""

    NONE = 0
    VIEW_ONLY = 1
    ASSISTANT = 2
    SUPER = 3

    @property
    def label(self) -> str:
        """The level as written in the CLI, JSON and Slack: `super`, `view-only`, `none`."""
        return self.name.lower().replace("_", "-")

    @property
    def title(self) -> str:
        """The level as shown to people: `SUPER`, `VIEW ONLY`."""
        return self.name.replace("_", " ")

    @classmethod
    def parse(cls, text: str) -> Level:
        """`super`, `Assistant`, `view-only`, `view_only`, `none` -> Level; ValueError else."""
        key = text.strip().upper().replace("-", "_").replace(" ", "_")
        if key not in cls.__members__:
            raise ValueError(text)
        return cls[key]


class Status(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    DEACTIVATED = "deactivated"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class State:
    """What billing needs to know about one user at one instant."""

    status: Status
    assigned: Level = Level.NONE
    effective: Level = Level.NONE

    @property
    def active(self) -> bool:
        return self.status is Status.ACTIVE

    @property
    def billable_level(self) -> Level:
        """Billing takes the higher of the assigned and effective levels."""
        return max(self.assigned, self.effective)

    @property
    def acting_level(self) -> Level:
        """An admin acts with the lower of the two: downgrades bite at once."""
        return min(self.assigned, self.effective)


@dataclass(frozen=True, slots=True)
class Change:
    """A user's state right after an event recorded at `at` (aware, UTC).

    `seq` orders changes recorded at the same instant; only the state after the last
    change of an instant is ever held.
    """

    at: datetime
    seq: int
    state: State
