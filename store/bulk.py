"""Writing many new users at once: Core INSERTs in batches, ids back in input order.

An import of 100,000 users is 100 statements of 1,000 rows per table, not 100,000 ORM
objects: the rows, their memberships, their audit events and their first state periods.
The callers (bot/services/users.py `add_users`) build the plain values and keep the rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.orm import Session

from store.models import AuditEvent, Membership, User

BATCH = 1_000
T = TypeVar("T")


def batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def insert_users(session: Session, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert `users` rows (live, so their email keys are unique); their ids, in the
    order of `rows`. RETURNING without `sort_by_parameter_order`, which SQLite could only
    honour a row at a time: the ids are matched back by email key instead."""
    users = User.__table__
    statement = insert(users).returning(users.c.id, users.c.email_key)
    ids = dict((key, uid) for uid, key in session.execute(statement, list(rows)))
    return [ids[row["email_key"]] for row in rows]


def insert_memberships(session: Session, pairs: Sequence[tuple[int, int]]) -> None:
    """(user id, project id) pairs."""
    if pairs:
        session.execute(insert(Membership.__table__),
                        [{"user_id": u, "project_id": p} for u, p in pairs])


def insert_events(session: Session, events: Sequence[dict[str, Any]]) -> None:
    if events:
        session.execute(insert(AuditEvent.__table__), list(events))
