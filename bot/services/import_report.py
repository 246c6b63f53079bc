"""What an import would do and did: the dry run's report, the refusal of a file with
problems (every problem by row), and the result, each with a sentence and a JSON form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from billing.model import Status
from bot.errors import Conflict
from bot.plural import count
from bot.services import import_matches as matches
from bot.services.csv_rows import Row


@dataclass
class ImportReport:
    """What a file would do: its problems, or its new, unchanged and changed rows."""

    rows: list[Row] = field(default_factory=list)  # the rows that parsed
    checked: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    new: list[Row] = field(default_factory=list)
    unchanged: int = 0
    changes: list[matches.Change] = field(default_factory=list)
    update: bool = False

    def text(self) -> str:
        return "\n".join(f"row {n}: {message}" for n, message in self.problems)

    @property
    def active_seats(self) -> int:
        """How many seats the import adds: new active users, and activations it makes."""
        return (sum(r.status is Status.ACTIVE for r in self.new)
                + (sum(c.activates for c in self.changes) if self.update else 0))

    def summary(self) -> str:
        """"2 new users (1 active), 1 unchanged, 1 to update." """
        active = sum(r.status is Status.ACTIVE for r in self.new)
        parts = [f"{count(len(self.new), 'new user')} ({active:,} active)"]
        if self.unchanged:
            parts.append(f"{self.unchanged:,} unchanged")
        if self.changes:
            one = len(self.changes) == 1
            parts.append(f"{len(self.changes):,} to update" if self.update else
                         f"{len(self.changes):,} that {'differs' if one else 'differ'} from "
                         f"{'its' if one else 'their'} user, left alone")
        return ", ".join(parts) + "."

    def change_lines(self) -> list[str]:
        """Each row that differs from its user, and how."""
        verb = "would change" if self.update else "differs (left alone)"
        return [f"row {c.row}: {c.email} {verb}: {c.describe()}" for c in self.changes]


class ImportRefused(Conflict):
    """The file has problems by row: nothing was imported. `problems` lists them."""

    def __init__(self, problems: Sequence[tuple[int, str]]) -> None:
        self.problems = sorted(problems)
        rows = len({n for n, _ in self.problems})
        head = f"Nothing was imported: {count(rows, 'row')} {'has' if rows == 1 else 'have'}"
        super().__init__(f"{head} problems.\n" + ImportReport(problems=self.problems).text())


@dataclass(frozen=True)
class ImportResult:
    created: int
    active: int
    unchanged: int = 0
    updated: int = 0
    left_alone: int = 0  # rows that differ from their user, without `update`
    notes: tuple[str, ...] = ()  # what was read as it is (a `;` file, an unknown column)

    @property
    def message(self) -> str:
        head = f"Imported {count(self.created, 'user')} ({self.active:,} active)"
        if not self.created and (self.unchanged or self.updated or self.left_alone):
            head = "No new users"
        parts = [head]
        if self.updated:
            parts.append(f"updated {count(self.updated, 'user')}")
        if self.unchanged:
            parts.append(f"{self.unchanged:,} unchanged")
        if self.left_alone:
            parts.append(f"{count(self.left_alone, 'row')} that "
                         f"{'differs' if self.left_alone == 1 else 'differ'} from "
                         f"{'its' if self.left_alone == 1 else 'their'} user left alone")
        return "; ".join(parts) + "."

    def as_json(self) -> dict[str, object]:
        return {"ok": True, "created": self.created, "active": self.active,
                "unchanged": self.unchanged, "updated": self.updated,
                "left_alone": self.left_alone, "notes": list(self.notes)}
