"""Hand-written fakes: a clock the tests set and move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime | str = "2025-02-01T00:00:00Z") -> None:
        self.set(at)

    def set(self, at: datetime | str) -> None:
        if isinstance(at, str):
            at = datetime.fromisoformat(at.replace("Z", "+00:00"))
        assert at.tzinfo is not None, "the clock speaks aware UTC instants"
        self._now = at.astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self._now += timedelta(**delta)

    def now(self) -> datetime:
        return self._now
