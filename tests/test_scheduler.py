"""The scheduler's reconciler and the outbox: cycles closed once and in order, one post
per cycle even with two schedulers, Slack failures and 429s lose and duplicate nothing."""

import threading
from datetime import date

import pytest
from slack_sdk import WebClient
from sqlalchemy import delete, select, update

from billing.model import Level
from bot import services
from bot.bootstrap import bootstrap
from bot.outbox import deliver_due
from bot.services import Via
from bot.services import billing as billing_service
from bot.services.context import Channels
from bot.settings import Settings
from bot.slack_api import slack_client
from handlers import scheduler
from store.models import AdminGrant, AuditEvent, OutboxMessage, StatePeriod
from tests.conftest import HASHER
from tests.fakes import FixedClock
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


def posts(fake):
    return [c.params for c in fake.called("chat.postMessage") if "_failed" not in c.params]


def test_a_downtime_of_three_cycles_closes_and_posts_each_once_in_order(org, clock, fake,
                                                                       client):
    clock.set("2025-03-10T00:00:00Z")
    services.create_user(org, actor=SAM, via=Via.CLI, email="lee@example.com",
                         first_name="Lee", last_name="Park")
    clock.set("2025-05-02T09:00:00Z")  # the scheduler was down since February
    done = scheduler.reconcile(org, client)
    assert [c[:10] for c in done.closed] == ["2025-02-01", "2025-03-01", "2025-04-01"]
    summaries = [p for p in posts(fake) if p["text"].startswith("Invoice")]
    assert [p["text"].split(":")[0] for p in summaries] == [
        "Invoice for February 2025 (Feb 1 - Feb 28)", "Invoice for March 2025 (Mar 1 - Mar 31)",
        "Invoice for April 2025 (Apr 1 - Apr 30)"]
    assert summaries[0]["blocks"][0]["text"]["text"].startswith(
        "Invoice for February 2025 (Feb 1 - Feb 28): $")
    assert all(p["channel"] == BILLING for p in summaries)
    march = str(summaries[1]["blocks"])
    assert "lee@example.com added" in march and "+$10.00 on the previous cycle" in march
    again = scheduler.reconcile(org, client)
    assert again.closed == [] and again.posted == 0
    assert len([p for p in posts(fake) if p["text"].startswith("Invoice")]) == 3


def test_two_schedulers_at_once_close_and_post_once_per_cycle(org, clock, fake, client,
                                                             database_url):
    clock.set("2025-06-02T00:00:00Z")
    barrier = threading.Barrier(2)

    def run():
        side = bootstrap(Settings(database_url=database_url), clock=FixedClock(clock.now()),
                         hasher=HASHER)
        side.channels = org.channels
        barrier.wait(timeout=10)
        scheduler.reconcile(side, client)
        side.uow.engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    summaries = [p["text"].split(":")[0] for p in posts(fake) if p["text"].startswith("Invoice")]
    assert sorted(summaries) == sorted(set(summaries)) and len(summaries) == 4


def test_slack_errors_are_retried_with_backoff_and_sent_once(org, clock, fake, client):
    fake.fail("chat.postMessage", 200, {"ok": False, "error": "internal_error"}, times=2)
    clock.set("2025-03-01T00:05:00Z")
    scheduler.reconcile(org, client)
    assert posts(fake) == []
    with org.uow as uow:
        row = uow.session.scalar(select(OutboxMessage))
        assert (row.status, row.attempts, row.last_error) == ("pending", 1, "internal_error")
    clock.advance(seconds=14)
    assert deliver_due(org, client) == 0  # backoff: not yet
    clock.advance(seconds=2)
    assert deliver_due(org, client) == 0  # second failure, now waiting 30 s
    clock.advance(seconds=31)
    assert deliver_due(org, client) == 3  # the summary, then its chart and CSV, which waited
    assert deliver_due(org, client) == 0
    assert len(posts(fake)) == 1


def test_429s_are_retried_by_the_client_then_by_the_outbox_and_sent_once(org, clock, fake,
                                                                          client):
    fake.fail("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, times=6)
    clock.set("2025-03-01T00:05:00Z")
    scheduler.reconcile(org, client)  # 4 tries by the client, then the outbox retries
    assert len(posts(fake)) == 1 and len(fake.called("chat.postMessage")) == 7
    with org.uow as uow:
        row = uow.session.scalar(select(OutboxMessage))
        assert (row.status, row.attempts) == ("sent", 2)
    assert deliver_due(org, client) == 0 and len(posts(fake)) == 1


def test_the_outbox_waits_out_retry_after(org, clock, fake):
    bare = WebClient(token="xoxb-test", base_url=fake.api_url)  # no retry handler of its own
    fake.fail("chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, retry_after=120)
    clock.set("2025-03-01T00:05:00Z")
    scheduler.reconcile(org, bare)
    clock.advance(seconds=119)
    assert deliver_due(org, bare) == 0
    clock.advance(seconds=1)
    assert deliver_due(org, bare) == 3 and len(posts(fake)) == 1  # + its chart and CSV


def test_a_permanent_error_is_not_retried(org, clock, fake, client):
    fake.fail("chat.postMessage", 200, {"ok": False, "error": "channel_not_found"})
    clock.set("2025-03-01T00:05:00Z")
    scheduler.reconcile(org, client)
    with org.uow as uow:
        assert uow.session.scalar(select(OutboxMessage.status)) == "failed"
    clock.advance(days=1)
    assert deliver_due(org, client) == 0 and posts(fake) == []


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "not_in_channel"])
def test_a_post_waits_while_the_token_or_the_invitation_is_mended(org, clock, fake, client,
                                                                  error):
    fake.fail("chat.postMessage", 200, {"ok": False, "error": error}, times=2)
    clock.set("2025-03-01T00:05:00Z")
    scheduler.reconcile(org, client)
    with org.uow as uow:
        assert uow.session.scalar(select(OutboxMessage.status)) != "failed"
    clock.advance(hours=2)
    deliver_due(org, client)
    clock.advance(hours=2)
    assert deliver_due(org, client) == 3 and len(posts(fake)) == 1  # + its chart and CSV


def test_the_heads_up_is_posted_once_three_days_before_the_end(org, clock, fake, client):
    clock.set("2025-02-25T00:00:00Z")
    assert scheduler.reconcile(org, client).recorded == []
    clock.set("2025-02-26T00:00:00Z")
    services.create_user(org, actor=SAM, via=Via.CLI, email="lee@example.com",
                         first_name="Lee", last_name="Park")
    services.set_admin(org, actor=SAM, via=Via.CLI, email="lee@example.com",
                       level=Level.SUPER)
    assert scheduler.reconcile(org, client).recorded == ["headsup:2025-02-01T00:00:00+00:00"]
    assert scheduler.reconcile(org, client).recorded == []
    heads_up = [p for p in posts(fake) if p["text"].startswith("Heads-up")]
    # named by its last day, Feb 28, not by the next cycle's first instant (Mar 1)
    assert len(heads_up) == 1 and heads_up[0]["text"].startswith(
        "Heads-up: February 2025 (Feb 1 - Feb 28) closes after Feb 28; estimate $")
    assert "this cycle, February 2025 (Feb 1 - Feb 28), closes after Feb 28" in str(
        heads_up[0]["blocks"])
    assert "lee@example.com: SUPER since Feb 26" in str(heads_up[0]["blocks"])


def test_the_daily_integrity_check_warns_once_a_day(org, clock, fake, client):
    clock.set("2025-02-10T00:00:00Z")
    assert scheduler.reconcile(org, client).recorded == []
    with org.uow as uow:  # a manual edit behind Rollcall's back
        uow.session.execute(update(AdminGrant).values(level="assistant"))
        uow.commit()
    assert scheduler.reconcile(org, client).recorded == ["integrity:2025-02-10"]
    clock.advance(hours=5)
    assert scheduler.reconcile(org, client).recorded == []
    clock.advance(days=1)
    assert scheduler.reconcile(org, client).recorded == ["integrity:2025-02-11"]
    warnings = [p for p in posts(fake) if "Integrity check" in p["text"]]
    assert len(warnings) == 2


def test_the_daily_check_folds_the_audit_once_a_day_and_warns_of_edited_periods(
        org, clock, fake, client):
    from bot.services.maintenance import CHECKED, rebuild_periods

    def checks():
        with org.uow as uow:
            return uow.session.scalars(select(AuditEvent.reason).where(
                AuditEvent.action == CHECKED).order_by(AuditEvent.id)).all()

    clock.set("2025-02-10T00:00:00Z")
    assert scheduler.reconcile(org, client).recorded == []
    assert checks() == ["the state periods match the audit history"]
    with org.uow as uow:  # a manual edit behind Rollcall's back: sam's period goes
        uow.session.execute(delete(StatePeriod))
        uow.commit()
    clock.advance(hours=5)
    assert scheduler.reconcile(org, client).recorded == []  # checked today already
    assert len(checks()) == 1
    clock.advance(days=1)
    assert scheduler.reconcile(org, client).recorded == ["integrity-periods:2025-02-11"]
    assert len(checks()) == 2 and "rebuild-periods" in checks()[-1]
    warning = [p for p in posts(fake) if "state periods differ" in p["text"]]
    assert len(warning) == 1 and "missing: user 1 active (levels 3/3)" in warning[0]["text"]
    rebuild_periods(org, via=Via.CLI)
    clock.advance(days=1)
    assert scheduler.reconcile(org, client).recorded == []
    assert checks()[-1] == "the state periods match the audit history"


def test_without_a_channel_nothing_is_recorded(ctx, clock, fake, client):
    clock.set("2025-03-02T00:00:00Z")
    done = scheduler.reconcile(ctx, client)
    assert done.closed and done.recorded == [] and posts(fake) == []


def test_clock_once_runs_what_is_due(org, clock, cli, fake, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    clock.set("2025-03-02T00:00:00Z")
    result = cli("clock", "--once")
    assert result.code == 0 and "Closed 1 cycles" in result.out and "sent 3" in result.out


def test_the_apscheduler_wiring_runs_a_pass_at_start(org, monkeypatch):
    """The trigger only: APScheduler keeps real time, so the pass itself is tested above."""
    ran = threading.Event()
    monkeypatch.setattr(scheduler, "reconcile", lambda ctx, client: ran.set() or
                        scheduler.Pass())
    background = scheduler.run_forever(org, None, blocking=False)
    try:
        assert ran.wait(timeout=10)
        job = background.get_job("reconcile")
        assert job.trigger.interval.total_seconds() == scheduler.INTERVAL_SECONDS
        assert job.max_instances == 1
    finally:
        background.shutdown(wait=False)


def test_an_update_waits_for_its_message_and_gives_up_if_it_never_went(org, clock, fake,
                                                                      client):
    from store.outbox import enqueue

    clock.set("2025-02-10T00:00:00Z")
    with org.uow as uow:
        enqueue(uow.session, key="card", channel=BILLING, payload={"text": "card"},
                now=clock.now())
        enqueue(uow.session, key="card:done", channel=BILLING, method="chat.update",
                payload={"text": "done", "updates": "card"}, now=clock.now())
        enqueue(uow.session, key="lost:done", channel=BILLING, method="chat.update",
                payload={"text": "x", "updates": "lost"}, now=clock.now())
        uow.commit()
    assert deliver_due(org, client) == 2  # the card, then its update with the card's ts
    update = fake.called("chat.update")[0].params
    assert (update["ts"], update["text"]) == ("1.0", "done")
    with org.uow as uow:
        statuses = {k: v for k, v in uow.session.execute(
            select(OutboxMessage.key, OutboxMessage.status))}
    assert statuses == {"card": "sent", "card:done": "sent", "lost:done": "failed"}
