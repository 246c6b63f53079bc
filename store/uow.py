"""Unit of work: owns one session per `with` block and rolls back unless `commit()` ran."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from store.models import Organization


class UnitOfWork:
    """Re-enterable: each `with uow:` opens a fresh session."""

    session: Session

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # expire_on_commit=False: services hand back values read inside the transaction
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def __enter__(self) -> UnitOfWork:
        self.session = self._sessions()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def lock_for_write(self) -> bool:
        """Serialise writers: bump the organization row before reading anything.

        On PostgreSQL the UPDATE holds the row lock until commit and, under READ
        COMMITTED, every later statement sees what earlier writers committed. On SQLite
        the first write takes the database's write lock, waiting out `busy_timeout`.
        Returns False when there is no organization yet (not initialised).
        """
        result = self.session.execute(
            update(Organization).where(Organization.id == 1).values(
                write_seq=Organization.write_seq + 1
            )
        )
        return bool(result.rowcount)
