"""Block Kit stays within Slack's limits whatever the data (checked with slack_sdk's
model classes, which enforce them), and names cycles as people say them."""

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from billing.model import Level, Status
from bot import posts
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


# Paris, a fixed-30 cycle over the change to summer time: the instants carry the zone's
# offset, and the end (Apr 7, 00:00) is the next cycle's first instant.
PARIS = {"status": "final", "cycle_start": "2025-03-08T00:00:00+01:00",
         "cycle_end": "2025-04-07T00:00:00+02:00", "currency": "EUR", "total": "120.00",
         "active_users": 12, "lines": [{"description": "Active users", "quantity": 12,
                                        "unit_price": "10.00", "amount": "120.00"}]}
MARCH = {**PARIS, "cycle_start": "2025-03-01T00:00:00+01:00",
         "cycle_end": "2025-04-01T00:00:00+02:00"}


def test_replies_and_posts_name_the_cycle_by_its_local_days():
    reply = valid(blocks.invoice(PARIS))
    assert reply["text"] == "Final invoice for Mar 8 - Apr 6, 2025: €120.00"
    assert reply["blocks"][0]["text"]["text"].startswith(
        "*Final invoice* for Mar 8 - Apr 6, 2025 · *€120.00*")
    listed = str(valid(blocks.invoices([MARCH, {**PARIS, "status": "draft"}]))["blocks"])
    assert "• March 2025 (Mar 1 - Mar 31) · final · 12 users · €120.00" in listed
    assert "• Mar 8 - Apr 6, 2025 · draft · 12 users" in listed
    summary = valid(posts.cycle_summary(MARCH, [], None))
    assert summary["text"] == "Invoice for March 2025 (Mar 1 - Mar 31): €120.00"
    assert summary["blocks"][0]["text"]["text"] == summary["text"]
    heads_up = valid(posts.heads_up({**PARIS, "status": "draft"}, [], [], []))
    assert heads_up["text"] == "Heads-up: Mar 8 - Apr 6, 2025 closes after Apr 6; estimate €120.00"
    assert "2025-" not in str([reply, listed, summary, heads_up])  # no ISO in what people read
    home = views.home({"active_users": 12, "admins": {}, "estimate": "€120.00",
                       "cycle": "March 2025 (Mar 1 - Mar 31)", "approvals": 0, "scheduled": 0})
    assert "*This cycle's estimate:* €120.00 for March 2025 (Mar 1 - Mar 31)" in str(home)


def test_the_modals_are_valid_views():
    projects = [(f"p{n}", "Project " + "x" * 80) for n in range(150)]
    View(**views.new_user(projects, "a@example.com", {"r": "x" * 5000})).validate_json()
    View(**views.new_user([], None, {})).validate_json()  # no projects: no empty select
    assert all(b.get("block_id") != "projects" for b in views.new_user([], None, {})["blocks"])
    View(**views.make_admin("a@example.com", "Ada", projects, {})).validate_json()
    View(**views.home(None)).validate_json()
