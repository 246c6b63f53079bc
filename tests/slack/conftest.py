"""End-to-end fixtures: Rollcall served on loopback by a real WSGI server, a loopback fake
of Slack's Web API, and requests signed like Slack's. SQLite (the store tests cover
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from billing.model import Level
from bot import services
from bot.bootstrap import bootstrap, upgrade_schema
from bot.services import Context, Via
from bot.services.billing import configure_billing
from bot.settings import Settings
from handlers.web import create_app
from tests.conftest import HASHER
from tests.fakes import FixedClock
from tests.slack.fake_slack import FakeSlack
from tests.slack.harness import SECRET, SlackSide, serve

SAM, LEE, PAT = "U0SAM", "U0LEE", "U0PAT"
STRANGER = "U0NOBODY"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    slack = FakeSlack(users={SAM: "sam@example.com", LEE: "lee@example.com",
                             PAT: "pat@example.com", STRANGER: "nobody@example.org"})
    yield slack
    slack.close()


@pytest.fixture
def settings(tmp_path: Path, fake: FakeSlack) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'slack.db'}",
                    slack_bot_token="xoxb-test", slack_signing_secret=SECRET,
                    slack_api_url=fake.api_url)


@pytest.fixture
def bare_ctx(settings: Settings) -> Iterator[Context]:
    ctx = bootstrap(settings, clock=FixedClock("2025-02-10T00:00:00Z"), hasher=HASHER)
    upgrade_schema(ctx)
    yield ctx
    ctx.uow.engine.dispose()


@pytest.fixture
def org(bare_ctx: Context) -> Context:
    """Sam (SUPER), Lee (a plain user), Pat (ASSISTANT over alpha), project alpha; monthly
    cycles from the 1st, users $10, SUPER $50, ASSISTANT $30."""
    ctx = bare_ctx
    services.init_organization(ctx, org_name="Acme", admin_email="sam@example.com",
                               admin_first_name="Sam", admin_last_name="Stone")
    services.add_project(ctx, actor="sam@example.com", via=Via.CLI, key="alpha", name="Alpha")
    for email, first, projects in (("lee@example.com", "Lee", ["alpha"]),
                                   ("pat@example.com", "Pat", ["alpha"])):
        services.create_user(ctx, actor="sam@example.com", via=Via.CLI, email=email,
                             first_name=first, last_name="Test", projects=projects)
    services.set_admin(ctx, actor="sam@example.com", via=Via.CLI, email="pat@example.com",
                       level=Level.ASSISTANT, projects=["alpha"])
    services.login(ctx, via=Via.CLI, email="pat@example.com")
    configure_billing(ctx, actor="sam@example.com", via=Via.CLI, anchor=date(2025, 1, 1),
                      user_price="10", admin_prices={Level.SUPER: "50", Level.ASSISTANT: "30"})
    return ctx


@pytest.fixture
def slack(bare_ctx: Context, settings: Settings, fake: FakeSlack) -> Iterator[SlackSide]:
    url, server = serve(create_app(settings, context=bare_ctx))
    yield SlackSide(url, fake)
    server.shutdown()
    server.server_close()
