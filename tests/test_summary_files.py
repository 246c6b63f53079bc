"""Each cycle summary comes with its chart and its invoice as CSV, uploaded through the
outbox against the fake Web API (files.getUploadURLExternal, the upload,
files.completeUploadExternal): once each, in order, retried, never doubled, and the text
summary goes out whatever happens to the files."""

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from PIL import Image
from sqlalchemy import select

from billing.model import Level
from billing.wording import document_cycle_name
from bot import charts, services
from bot.outbox import deliver_due
from bot.services import Via
from bot.services import billing as billing_service
from bot.services import billing_store as bs
from bot.services.context import Channels
from bot.settings import Settings
from bot.slack_api import slack_client
from handlers import scheduler
from store.models import OutboxMessage
from tests.slack.fake_slack import FakeSlack

SAM = "sam@example.com"
BILLING = "C0BILLING"


@pytest.fixture
def fake():
    slack = FakeSlack()
    yield slack
    slack.close()


@pytest.fixture
def client(fake):
    return slack_client(Settings(slack_bot_token="xoxb-test", slack_api_url=fake.api_url))


@pytest.fixture
def org(ctx, clock):
    """Acme since 2025-02-01: monthly cycles from the 1st, users $10, SUPER $50."""
    ctx.channels = Channels(billing=BILLING, approvals="C0APPROVALS")
    billing_service.configure_billing(ctx, actor=SAM, via=Via.CLI, anchor=date(2025, 1, 1),
                                      user_price="10", admin_prices={Level.SUPER: "50"})
    return ctx


def timeline(fake):
    """What reached the billing channel, in order: ("summary", text) for each post and
    ("file", filename) for each shared upload."""
    names = {f.id: f.filename for f in fake.uploads}
    seen = []
    for call in list(fake.calls):
        if "_failed" in call.params:
            continue
        if call.method == "chat.postMessage":
            seen.append(("summary", call.params["channel"], call.params["text"]))
        elif call.method == "files.completeUploadExternal":
            for entry in json.loads(call.params["files"]):
                seen.append(("file", call.params["channel_id"], names.get(entry["id"])))
    return seen


def stored(ctx):
    with ctx.uow as uow:
        return bs.final_documents(uow.session)


def csv_sections(data: bytes) -> list[list[list[str]]]:
    sections, rows = [], []
    for row in csv.reader(io.StringIO(data.decode())):
        if row:
            rows.append(row)
        else:
            sections.append(rows)
            rows = []
    return [*sections, rows]


def test_after_a_downtime_each_cycle_gets_its_summary_chart_and_csv_once_in_order(
        org, clock, fake, client):
    clock.set("2025-03-10T00:00:00Z")
    services.create_user(org, actor=SAM, via=Via.CLI, email="lee@example.com",
                         first_name="Lee", last_name="Park")
    clock.set("2025-05-02T09:00:00Z")  # the scheduler was down since February
    done = scheduler.reconcile(org, client)
    assert len(done.closed) == 3 and done.posted == 9
    starts = ["2025-02-01", "2025-03-01", "2025-04-01"]
    shown = timeline(fake)
    assert [(kind, name if kind == "file" else "") for kind, _, name in shown] == [
        item for start in starts for item in (
            ("summary", ""), ("file", f"rollcall-chart-{start}.png"),
            ("file", f"rollcall-invoice-{start}.csv"))]
    assert {channel for _, channel, _ in shown} == {BILLING}
    summaries = [text for kind, _, text in shown if kind == "summary"]
    assert all(document_cycle_name(doc) in text  # each summary names its own cycle
               for doc, text in zip(stored(org), summaries, strict=True))

    docs = stored(org)
    for i, doc in enumerate(docs):
        chart_file, csv_file = fake.uploads[2 * i], fake.uploads[2 * i + 1]
        image = Image.open(io.BytesIO(chart_file.data))
        assert image.size == (1200, 675)
        # the chart is the cycles up to this one, this one highlighted: drawn again, equal
        points = charts.chart_points(docs[:i + 1])
        assert chart_file.data == charts.render_png(points)
        assert chart_file.alt_txt == charts.alt_text(points)
        assert "this cycle" in chart_file.alt_txt and chart_file.title
        head, lines, people = csv_sections(csv_file.data)
        assert head[1][1:] == [doc["cycle_start"], doc["cycle_end"], "final", "USD",
                               doc["total"]]
        assert lines[-1] == ["Total", "", "", "", doc["total"]]
        assert sum(Decimal(row[4]) for row in lines[1:-1]) == Decimal(doc["total"])
        assert [row[4] for row in lines[1:-1]] == [ln["amount"] for ln in doc["lines"]]
        assert {row[0] for row in people[1:]} == {*doc["users"], *doc["admins"]}

    again = scheduler.reconcile(org, client)  # nothing more: each file was sent once
    assert again.posted == 0 and len(fake.uploads) == 6


@pytest.mark.parametrize("failure", [
    ("upload", 500, {}),  # the POST to the upload URL
    ("files.getUploadURLExternal", 200, {"ok": False, "error": "internal_error"}),
    ("files.completeUploadExternal", 200, {"ok": False, "error": "internal_error"}),
])
def test_a_failed_upload_is_retried_and_never_doubled_and_the_text_goes_out(
        org, clock, fake, client, failure):
    method, status, body = failure
    fake.fail(method, status, body)
    clock.set("2025-03-01T00:05:00Z")
    done = scheduler.reconcile(org, client)
    assert done.posted == 1  # the text summary; the chart backs off, the CSV follows it
    assert [kind for kind, _, _ in timeline(fake)] == ["summary"] and fake.uploads == []
    with org.uow as uow:
        chart = uow.session.scalar(select(OutboxMessage).where(
            OutboxMessage.key.startswith("summary-chart:")))
        assert (chart.status, chart.attempts) == ("pending", 1) and chart.last_error
    clock.advance(seconds=14)
    assert deliver_due(org, client) == 0  # backoff: not yet
    clock.advance(seconds=1)
    assert deliver_due(org, client) == 2  # the chart, then the CSV
    assert deliver_due(org, client) == 0
    assert [kind for kind, _, _ in timeline(fake)] == ["summary", "file", "file"]
    clock.advance(days=1)
    assert deliver_due(org, client) == 0
    names = [f.filename for f in fake.uploads]
    assert names == ["rollcall-chart-2025-02-01.png", "rollcall-invoice-2025-02-01.csv"]
    assert len(fake.called("chat.postMessage")) == 1


def test_the_files_wait_for_their_summary_and_follow_it(org, clock, fake, client):
    """The summary fails first: the chart and the CSV wait, and go out after it."""
    fake.fail("chat.postMessage", 200, {"ok": False, "error": "internal_error"})
    clock.set("2025-03-01T00:05:00Z")
    assert scheduler.reconcile(org, client).posted == 0 and fake.uploads == []
    clock.advance(seconds=15)
    assert deliver_due(org, client) == 3
    assert [kind for kind, _, _ in timeline(fake)] == ["summary", "file", "file"]
    assert [f.filename for f in fake.uploads] == ["rollcall-chart-2025-02-01.png",
                                                  "rollcall-invoice-2025-02-01.csv"]


def test_the_files_still_go_when_the_summary_failed_for_good(org, clock, fake, client):
    fake.fail("chat.postMessage", 200, {"ok": False, "error": "msg_too_long"})
    clock.set("2025-03-01T00:05:00Z")
    assert scheduler.reconcile(org, client).posted == 2 and len(fake.uploads) == 2


def test_two_senders_at_once_upload_each_file_once(org, clock, fake, client):
    import threading

    clock.set("2025-05-02T09:00:00Z")
    billing_service.close_due_cycles(org, via=Via.SCHEDULER)
    threads = [threading.Thread(target=deliver_due, args=(org, client)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    clock.advance(minutes=1)  # a row that waited for one being sent by the other sender
    deliver_due(org, client)
    names = [f.filename for f in fake.uploads]
    assert len(names) == len(set(names)) == 6
    assert len(fake.called("chat.postMessage")) == 3


def test_a_formula_like_name_is_neutralised_in_the_uploaded_csv(org, clock, fake, client):
    clock.set("2025-02-10T00:00:00Z")
    services.create_user(org, actor=SAM, via=Via.CLI, email="=evil@example.com",
                         first_name='=HYPERLINK("http://x")', last_name="Park")
    services.set_admin(org, actor=SAM, via=Via.CLI, email="=evil@example.com",
                       level=Level.SUPER)
    clock.set("2025-03-01T00:05:00Z")
    scheduler.reconcile(org, client)
    text = fake.uploads[1].data.decode()
    assert "'=HYPERLINK" in text and "\n=" not in text and ",=" not in text
    rows = list(csv.reader(io.StringIO(text)))
    assert ["'=evil@example.com", "yes", "super"] in rows
