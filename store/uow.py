"""Unit of work: each `with uow as work:` gets its own session, which rolls back unless
`work.commit()` is called.

One `UnitOfWork` is shared by every thread of a process (a web worker's request threads,
the scheduler, Bolt's listener pool), so the sessions it opens are kept per thread.
"""

from __future__ import annotations

import threading
from types import TracebackType

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker

from store.models import Organization


class Work:
    """One transaction's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

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


class UnitOfWork:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # expire_on_commit=False: services hand back values read inside the transaction
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._local = threading.local()

    def __enter__(self) -> Work:
        work = Work(self._sessions())
        self._stack().append(work)
        return work

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        work = self._stack().pop()
        work.session.rollback()
        work.session.close()

    def _stack(self) -> list[Work]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack
