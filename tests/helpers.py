"""Shared assertions: what the store holds, to prove a refusal changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.services import Context
from store.models import (
    AdminGrant,
    AdminScope,
    AuditEvent,
    Membership,
    Project,
    ScheduledChange,
    ScimToken,
    User,
)


def store_state(ctx: Context) -> dict[str, Any]:
    """Every row that a change could touch, except the append-only audit."""
    with ctx.uow as uow:
        s = uow.session
        return {
            "users": [
                (u.id, u.email, u.first_name, u.last_name, u.status, u.slack_user_id,
                 u.password_hash, u.first_login_at)
                for u in s.scalars(select(User).order_by(User.id))
            ],
            "grants": [
                (g.user_id, g.level, g.effective_level, g.all_projects, g.changed_at)
                for g in s.scalars(select(AdminGrant).order_by(AdminGrant.user_id))
            ],
            "scopes": sorted(s.execute(select(AdminScope.user_id, AdminScope.project_id)).all()),
            "memberships": sorted(s.execute(select(Membership.user_id,
                                                   Membership.project_id)).all()),
            "projects": sorted(s.execute(select(Project.key, Project.name)).all()),
            "scheduled": sorted(s.execute(select(ScheduledChange.user_id,
                                                 ScheduledChange.status)).all()),
            "scim_tokens": sorted(s.execute(select(ScimToken.name,
                                                   ScimToken.revoked_at)).all()),
        }


def audit(ctx: Context, outcome: str | None = None) -> list[AuditEvent]:
    with ctx.uow as uow:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if outcome:
            query = query.where(AuditEvent.outcome == outcome)
        events = list(uow.session.scalars(query))
        uow.session.expunge_all()  # keep them readable after the unit of work ends
        return events


def fresh_organization(ctx: Context) -> None:
    """Empty every table and set Acme up again: Hypothesis runs many examples on one
    database, and each must start from the same place (time never runs backwards)."""
    from sqlalchemy import delete

    from bot.services import init_organization
    from store.models import Base

    with ctx.uow as uow:
        for table in reversed(Base.metadata.sorted_tables):
            uow.session.execute(delete(table))
        uow.commit()
    init_organization(ctx, org_name="Acme", admin_email="sam@example.com",
                      admin_first_name="Sam", admin_last_name="Stone")


def rollcall_process(folder: Any, database_url: str) -> Any:
    """Run the installed `rollcall` as its own process in `folder` against `database_url`;
    each run is checked to show no traceback to the person."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "DATABASE_URL": database_url}
    rollcall = str(Path(sys.executable).with_name("rollcall"))

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([rollcall, *argv], env=env, capture_output=True, text=True,
                              timeout=120, cwd=folder)
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        return done

    return run
