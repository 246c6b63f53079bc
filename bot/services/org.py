"""The organization: `init` (schema, organization, first SUPER) and projects."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from billing.model import Level, Status
from bot.errors import Conflict
from bot.rules import require_org_super, require_viewer
from bot.services.actors import load_actor
from bot.services.audit import record
from bot.services.context import Context, Via
from bot.services.refusals import refusing
from bot.services.transactions import reading, writing
from bot.services.users import new_password_hash
from bot.services.views import UserView, user_view
from bot.validation import clean_email, clean_name, clean_project_key, email_key
from store import repository
from store.models import AdminGrant, Membership, Organization, Project, User


def init_organization(
    ctx: Context,
    *,
    org_name: str,
    admin_email: str,
    admin_first_name: str,
    admin_last_name: str,
    admin_slack_user_id: str | None = None,
) -> UserView:
    """Create the organization and its first SUPER over all projects (applied at once).

    The schema must exist (`rollcall db upgrade`; the CLI's `init` runs it first).
    """
    name = clean_name(org_name, "Organization name")
    first = clean_name(admin_first_name, "First name")
    last = clean_name(admin_last_name, "Last name")
    address = clean_email(admin_email)
    password_hash = new_password_hash(ctx)
    with ctx.uow as uow:
        session, now = uow.session, ctx.clock.now()
        if repository.organization(session) is not None:
            raise Conflict("Rollcall is already initialised; nothing was changed.")
        session.add(Organization(id=1, name=name, created_at=now, write_seq=0))
        admin = User(
            first_name=first, last_name=last, email=address, email_key=email_key(address),
            status=Status.ACTIVE.value, slack_user_id=admin_slack_user_id,
            password_hash=password_hash, created_at=now,
        )
        admin.grant = AdminGrant(level=Level.SUPER.label, effective_level=Level.SUPER.label,
                                 all_projects=True, changed_at=now)
        session.add(admin)
        try:
            session.flush()
        except IntegrityError as exc:  # a concurrent init won
            raise Conflict("Rollcall is already initialised; nothing was changed.") from exc
        record(session, at=now, via=Via.CLI, action="org.init", actor=admin, subject=None,
               before=None, reason=name)
        record(session, at=now, via=Via.CLI, action="user.create", actor=admin,
               subject=admin, before=None)
        uow.commit()
    return user_view(admin)


@refusing("project.add")
def add_project(ctx: Context, *, actor: str, via: Via, key: str, name: str) -> str:
    slug = clean_project_key(key)
    title = clean_name(name, "Project name")
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        require_org_super(acting, "Adding a project")
        if repository.projects_by_key(session, [slug]):
            raise Conflict(f"A project with the key {slug} exists already; pick another key.")
        session.add(Project(key=slug, name=title, created_at=now))
        record(session, at=now, via=via, action="project.add", actor=acting_user,
               subject=None, before=None, reason=f"{slug}: {title}")
    return f"Project {slug} ({title}) added."


@dataclass(frozen=True)
class ProjectView:
    key: str
    name: str
    members: int  # live (not deleted) users in the project

    def as_json(self) -> dict[str, object]:
        return {"key": self.key, "name": self.name, "members": self.members}


def list_projects(ctx: Context, *, actor: str | None = None) -> list[ProjectView]:
    """Every project by key, with its number of live members. With an actor (any admin),
    the projects of the actor's scope; without (the operator at the machine), all."""
    with reading(ctx) as session:
        rows = session.execute(
            select(Project.key, Project.name, func.count(User.id))
            .outerjoin(Membership, Membership.project_id == Project.id)
            .outerjoin(User, and_(User.id == Membership.user_id, User.status != "deleted"))
            .group_by(Project.id, Project.key, Project.name).order_by(Project.key)).all()
        if actor is None:
            return [ProjectView(*row) for row in rows]
        _, acting = load_actor(session, actor)
    require_viewer(acting)
    return [ProjectView(*row) for row in rows if acting.scope.all or row[0] in acting.scope.keys]
