"""Listing and exporting every user reads plain rows (`repository.user_records`), not
ORM objects: the views must be exactly those the ORM path gives, for every kind of user."""

from sqlalchemy import select

from billing.model import Level, Status
from bot import services
from bot.services import Via
from bot.services.views import user_view
from store.models import User

SAM, CLI = "sam@example.com", Via.CLI


def test_listed_views_equal_the_orm_views_for_every_kind_of_user(ctx):
    for key in ("alpha", "beta"):
        services.add_project(ctx, actor=SAM, via=CLI, key=key, name=key.title())

    def add(email, projects=(), active=True):
        services.create_user(ctx, actor=SAM, via=CLI, email=email, first_name="F",
                             last_name=email[:3], projects=list(projects), active=active)

    add("both@example.com", ["beta", "alpha"])
    add("pending@example.com", active=False)
    add("scoped@example.com", ["alpha"])
    services.set_admin(ctx, actor=SAM, via=CLI, email="scoped@example.com",
                       level=Level.ASSISTANT, projects=["alpha", "beta"])  # pending grant
    add("leaving@example.com")
    services.set_admin(ctx, actor=SAM, via=CLI, email="leaving@example.com",
                       level=Level.VIEW_ONLY)
    services.login(ctx, via=CLI, email="leaving@example.com")
    services.remove_admin(ctx, actor=SAM, via=CLI, email="leaving@example.com")  # pending
    add("gone@example.com")
    services.delete_user(ctx, actor=SAM, via=CLI, email="gone@example.com")
    add("off@example.com")
    services.deactivate_user(ctx, actor=SAM, via=CLI, email="off@example.com")

    with ctx.uow as uow:
        orm = [user_view(u) for u in uow.session.scalars(
            select(User).where(User.status != "deleted").order_by(User.email_key))]
    listed = services.list_users(ctx)
    assert listed == orm and len(listed) == 6
    assert [v.email for v in services.list_users(ctx, status=Status.DEACTIVATED)] == [
        "off@example.com"]
    both = next(v for v in listed if v.email == "both@example.com")
    assert both.projects == ("alpha", "beta") and both.scope is None
