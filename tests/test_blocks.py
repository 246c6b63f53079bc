"""Block Kit stays within Slack's limits whatever the data (checked with slack_sdk's
model classes, which enforce them)."""

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from billing.model import Level, Status
from bot.rules import Scope
from bot.services.queries import UsersPage
from bot.services.views import UserView
from handlers.slack import blocks, views

NAMES = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=100)


def user(n, name="Ada", level=Level.NONE):
    return UserView(email=f"u{n}@example.com", first_name=name, last_name="B",
                    status=Status.ACTIVE, projects=("alpha",) * 3, slack_user_id=None,
                    level=level, effective_level=level,
                    scope=Scope(all=True) if level else None)


def valid(message):
    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        Block.parse(block).validate_json()
    return message


@settings(max_examples=30, deadline=None)
@given(name=NAMES, count=st.integers(0, 20))
def test_a_users_page_is_valid_for_any_names(name, count):
    page = UsersPage([user(n, name) for n in range(count)], 10_000, True, True)
    valid(blocks.users_page(page, "all"))


def test_many_admins_are_chunked_under_the_limits():
    admins = [user(n, "N" * 100, Level.SUPER) for n in range(2000)]
    message = valid(blocks.admins_list(admins))
    assert all(len(b["text"]["text"]) <= 3000 for b in message["blocks"])


def test_long_invoices_stay_within_the_limits():
    lines = [{"description": "x" * 200, "quantity": 1, "unit_price": "50.00",
              "amount": "50.00"} for _ in range(5000)]
    doc = {"status": "final", "cycle_start": "2025-01-01T00:00:00+00:00",
           "cycle_end": "2025-02-01T00:00:00+00:00", "currency": "USD", "total": "250000.00",
           "lines": lines}
    valid(blocks.invoice(doc))


def test_the_modals_are_valid_views():
    projects = [(f"p{n}", "Project " + "x" * 80) for n in range(150)]
    View(**views.new_user(projects, "a@example.com", {"r": "x" * 5000})).validate_json()
    View(**views.new_user([], None, {})).validate_json()  # no projects: no empty select
    assert all(b.get("block_id") != "projects" for b in views.new_user([], None, {})["blocks"])
    View(**views.make_admin("a@example.com", "Ada", projects, {})).validate_json()
    View(**views.home(None)).validate_json()
