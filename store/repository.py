"""Queries the services share. They take a session and return model rows or plain values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from store.models import AdminGrant, AdminScope, Membership, Organization, Project, User


def organization(session: Session) -> Organization | None:
    return session.get(Organization, 1)


def live_user_by_email_key(session: Session, key: str) -> User | None:
    return session.scalar(select(User).where(User.email_key == key, User.status != "deleted"))


def live_email_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of these email keys a live user has (one query; callers batch the keys)."""
    if not keys:
        return set()
    return set(session.scalars(select(User.email_key).where(
        User.email_key.in_(set(keys)), User.status != "deleted")))


def live_user_by_slack_id(session: Session, slack_user_id: str) -> User | None:
    return session.scalar(
        select(User).where(User.slack_user_id == slack_user_id, User.status != "deleted")
    )


def projects_by_key(session: Session, keys: Iterable[str]) -> dict[str, Project]:
    wanted = set(keys)
    if not wanted:
        return {}
    rows = session.scalars(select(Project).where(Project.key.in_(wanted)))
    return {p.key: p for p in rows}


def all_projects(session: Session) -> Sequence[Project]:
    return session.scalars(select(Project).order_by(Project.key)).all()


def count_org_supers(session: Session) -> int:
    """Invariant 1 counts active users who can act as SUPER over all projects now:
    assigned and effective level both SUPER."""
    return session.scalar(
        select(func.count())
        .select_from(User)
        .join(AdminGrant)
        .where(User.status == "active", AdminGrant.level == "super",
               AdminGrant.effective_level == "super", AdminGrant.all_projects)
    ) or 0


def user_records(session: Session, status: str | None = None) -> list[tuple]:
    """Users as plain tuples, by email key: every live user (`status` None), those of one
    status, or the tombstones (`"deleted"`: an email may then appear more than once).
    (email, first name, last name, status, slack user id, project keys, level, effective
    level, all projects, scope keys), the grant's fields None for a non-admin. Three
    queries and no ORM objects, so listing or exporting 100,000 users costs their rows,
    not their mapping."""
    which = User.status != "deleted" if status is None else User.status == status
    query = (select(User.id, User.email, User.first_name, User.last_name, User.status,
                    User.slack_user_id, AdminGrant.level, AdminGrant.effective_level,
                    AdminGrant.all_projects)
             .outerjoin(AdminGrant, AdminGrant.user_id == User.id)
             .where(which).order_by(User.email_key, User.id))
    members = _keys_by_user(session, select(Membership.user_id, Project.key).join(Project)
                            .join(User, User.id == Membership.user_id).where(which))
    scopes = _keys_by_user(session, select(AdminScope.user_id, Project.key).join(Project)
                           .join(User, User.id == AdminScope.user_id).where(which))
    return [(email, first, last, state, slack, members.get(uid, ()), level, effective,
             every, scopes.get(uid, ()))
            for uid, email, first, last, state, slack, level, effective, every
            in session.execute(query)]


def _keys_by_user(session: Session, pairs: Select) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = {}
    for user_id, key in session.execute(pairs):
        out.setdefault(user_id, []).append(key)
    return {user_id: tuple(sorted(keys)) for user_id, keys in out.items()}


def admins(session: Session) -> Sequence[User]:
    return session.scalars(
        select(User).join(AdminGrant).where(User.status != "deleted").order_by(User.email_key)
    ).all()


def users_page(
    session: Session,
    *,
    status: str | None,
    scope_keys: frozenset[str] | None,
    after: str | None = None,
    before: str | None = None,
    limit: int = 20,
) -> list[User]:
    """One page of live users ordered by email, after or before a key (keyset paging).

    `scope_keys` None means every user; otherwise members of those projects only.
    """
    query = select(User).where(User.status != "deleted")
    if status is not None:
        query = query.where(User.status == status)
    if scope_keys is not None:
        members = (select(Membership.user_id).join(Project)
                   .where(Project.key.in_(scope_keys)))
        query = query.where(User.id.in_(members))
    if before is not None:
        rows = session.scalars(query.where(User.email_key < before)
                               .order_by(User.email_key.desc()).limit(limit)).all()
        return list(reversed(rows))
    if after is not None:
        query = query.where(User.email_key > after)
    return list(session.scalars(query.order_by(User.email_key).limit(limit)))


def count_users(session: Session, *, status: str, scope_keys: frozenset[str] | None) -> int:
    query = select(func.count()).select_from(User).where(User.status == status)
    if scope_keys is not None:
        members = (select(Membership.user_id).join(Project)
                   .where(Project.key.in_(scope_keys)))
        query = query.where(User.id.in_(members))
    return session.scalar(query) or 0
