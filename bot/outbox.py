"""Sending the outbox: Slack posts recorded (store/outbox.py) in the same transaction as
their cause are sent after commit, retried with backoff (and after Retry-After on HTTP
429), sent once.

A row is claimed (status `sending`, with a lease) under the writers' lock before the
call, and marked `sent` after it; a second sender never claims a row being sent. Only a
crash between Slack's answer and the mark could resend a row, once its lease ran out.

A row whose payload names another (`after`: its key) waits until that one is sent or has
failed for good, so a cycle's summary, chart and CSV arrive in that order even when one
of them is retried. A `files.upload` row (billing_files.py `summary_files`) is drawn when it
is sent (bot/services/billing_files.py) and uploaded with `files_upload_v2`
(`files.getUploadURLExternal`, the upload, `files.completeUploadExternal`); its `ts`
keeps the uploaded file's id.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from bot.errors import NotFound
from bot.services.billing_files import UPLOAD, summary_upload
from bot.services.context import Context
from bot.services.transactions import writing
from store.models import OutboxMessage, OutboxStatus

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger("rollcall.outbox")
LEASE = timedelta(minutes=10)
WAIT = timedelta(seconds=30)  # a row waiting for another looks again this often at most
MAX_DELAY = timedelta(hours=1)
# Errors no retry can mend: the post is marked failed. A revoked or wrong token and an
# app not yet invited to the channel are mended by whoever runs Rollcall, so those posts
# keep their backoff (at most an hour apart) and go out once it is fixed: nothing lost.
PERMANENT = {"channel_not_found", "is_archived", "invalid_blocks", "msg_too_long"}


def channel_gaps(settings: Settings) -> list[str]:
    """One sentence per posting channel that is not set, saying what is not posted. Said
    once when a process that posts starts (`serve`, `clock`), never per post: recording
    a post without a channel only leaves a debug line (store/outbox.py)."""
    gaps = []
    if not settings.rollcall_billing_channel:
        gaps.append("ROLLCALL_BILLING_CHANNEL is not set: cycle summaries, heads-ups and "
                    "warnings (a refused attempt on the last SUPER, a failed scheduled "
                    "change) are not posted.")
    if not settings.rollcall_approvals_channel:
        cards = ("first-login cards go to ROLLCALL_BILLING_CHANNEL"
                 if settings.rollcall_billing_channel else "nor are first-login cards")
        gaps.append("ROLLCALL_APPROVALS_CHANNEL is not set: approval requests are not "
                    f"posted ({cards}).")
    return gaps


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    channel: str
    method: str
    payload: dict[str, Any]
    attempts: int
    update_ts: str | None  # for chat.update: the ts of the message being updated


def _claim(ctx: Context) -> Claimed | None:
    with writing(ctx) as (session, now):
        row = session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.next_attempt_at <= now,
                   or_(OutboxMessage.status == OutboxStatus.PENDING,
                       OutboxMessage.status == OutboxStatus.SENDING))
            .order_by(OutboxMessage.id).limit(1))
        if row is None:
            return None
        update_ts = None
        if row.method == "chat.update":
            original = session.scalar(select(OutboxMessage).where(
                OutboxMessage.key == row.payload.get("updates")))
            if original is None or original.status == OutboxStatus.FAILED:  # nothing to update
                row.status = OutboxStatus.FAILED
                row.last_error = "the message to update was never posted"
                return Claimed(row.id, row.key, "", "wait", {}, row.attempts, None)
            if original.ts is None:  # not posted yet: wait for it
                row.next_attempt_at = now + timedelta(seconds=30)
                return Claimed(row.id, row.key, "", "wait", {}, row.attempts, None)
            update_ts, row.channel = original.ts, original.channel
        waits_until = _waiting_for(session, row.payload.get("after"), now)
        if waits_until is not None:
            row.next_attempt_at = waits_until
            return Claimed(row.id, row.key, "", "wait", {}, row.attempts, None)
        row.status, row.attempts = OutboxStatus.SENDING, row.attempts + 1
        row.next_attempt_at = now + LEASE
        return Claimed(row.id, row.key, row.channel, row.method, dict(row.payload),
                       row.attempts, update_ts)


def _waiting_for(session: Session, key: str | None, now: datetime) -> datetime | None:
    """When to look again at a row that must follow the row `key`, or None to send it
    now: that row is sent, failed for good, or was never recorded."""
    if key is None:
        return None
    before = session.scalar(select(OutboxMessage).where(OutboxMessage.key == key))
    if before is None or before.status in (OutboxStatus.SENT, OutboxStatus.FAILED):
        return None
    if before.status == OutboxStatus.PENDING and before.next_attempt_at > now:
        return before.next_attempt_at  # its retry comes first (claims go by id)
    return now + WAIT  # being sent by another process


def _finish(ctx: Context, row_id: int, *, ts: str | None = None, error: str | None = None,
            retry_after: float | None = None, permanent: bool = False) -> None:
    with writing(ctx) as (session, now):
        row = session.get(OutboxMessage, row_id)
        if error is None:
            row.status, row.sent_at, row.ts, row.last_error = OutboxStatus.SENT, now, ts, None
            return
        row.last_error = error[:500]
        if permanent:
            row.status = OutboxStatus.FAILED
            return
        delay = timedelta(seconds=retry_after) if retry_after is not None else min(
            timedelta(seconds=15 * 2 ** (row.attempts - 1)), MAX_DELAY)
        row.status, row.next_attempt_at = OutboxStatus.PENDING, now + delay


def _anything_due(ctx: Context) -> bool:
    """A read without the writers' lock, so a request with nothing to send costs little."""
    with ctx.uow as uow:
        return uow.session.scalar(
            select(OutboxMessage.id)
            .where(OutboxMessage.next_attempt_at <= ctx.clock.now(),
                   OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)))
            .limit(1)) is not None


def deliver_due(ctx: Context, client: WebClient, *, limit: int = 100) -> int:
    """Send what is due now; returns how many were sent."""
    try:
        if not _anything_due(ctx):
            return 0
    except DBAPIError:  # not initialised, or the database is down: the next pass retries
        return 0
    sent = 0
    for _ in range(limit):
        claimed = _claim(ctx)
        if claimed is None:
            break
        if claimed.method == "wait":
            continue
        if claimed.method == UPLOAD:
            sent += _upload(ctx, client, claimed)
            continue
        body = {k: v for k, v in claimed.payload.items() if k not in ("updates", "after")}
        try:
            if claimed.method == "chat.update":
                response = client.chat_update(channel=claimed.channel, ts=claimed.update_ts,
                                              **body)
            else:
                response = client.chat_postMessage(channel=claimed.channel, **body)
        except SlackApiError as exc:
            _refused(ctx, claimed, exc)
            continue
        except OSError as exc:  # the network: try again later
            log.warning("could not reach Slack for outbox %s: %s", claimed.key, exc)
            _finish(ctx, claimed.id, error=type(exc).__name__)
            continue
        _finish(ctx, claimed.id, ts=response.get("ts"))
        sent += 1
    return sent


def _upload(ctx: Context, client: WebClient, claimed: Claimed) -> int:
    """Draw the row's file and upload it to its channel; 1 if it was sent. A file that
    cannot be drawn backs off like a Slack error (logged with its cause), except one
    whose invoice does not exist, which no retry mends."""
    try:
        upload = summary_upload(ctx, claimed.payload)
    except NotFound as exc:
        log.warning("outbox %s has nothing to upload: %s", claimed.key, exc)
        _finish(ctx, claimed.id, error=str(exc), permanent=True)
        return 0
    except Exception as exc:  # a bug or the database: the row waits, the others go on
        log.exception("could not draw the file of outbox %s", claimed.key)
        _finish(ctx, claimed.id, error=f"drawing the file: {type(exc).__name__}")
        return 0
    try:
        response = client.files_upload_v2(
            channel=claimed.channel, filename=upload.filename, content=upload.content,
            title=upload.title, alt_txt=upload.alt_text)
    except SlackApiError as exc:
        _refused(ctx, claimed, exc)
        return 0
    except (OSError, SlackClientError) as exc:  # the network, or the upload URL refused it
        log.warning("could not upload outbox %s: %s", claimed.key, exc)
        _finish(ctx, claimed.id, error=f"{type(exc).__name__}: {exc}")
        return 0
    _finish(ctx, claimed.id, ts=str((response.get("file") or {}).get("id") or "") or None)
    return 1


def _refused(ctx: Context, claimed: Claimed, exc: SlackApiError) -> None:
    error = str(exc.response.get("error") or exc.response.status_code)
    retry = exc.response.headers.get("Retry-After") if exc.response.status_code == 429 \
        else None
    log.warning("Slack refused outbox %s: %s", claimed.key, error)
    _finish(ctx, claimed.id, error=error, permanent=error in PERMANENT,
            retry_after=float(retry) if retry is not None else None)


class Pump:
    """One background sender per process: requests that may have recorded posts `kick`
    it (cheap: an Event), and it sends whatever is due, coalescing many kicks into one
    pass. The scheduler's pass sends anything a crash left behind."""

    def __init__(self, ctx: Context, client: WebClient) -> None:
        self.ctx, self.client = ctx, client
        self._wake = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    def kick(self) -> None:
        with self._lock:
            if not self._started:
                threading.Thread(target=self._run, name="outbox", daemon=True).start()
                self._started = True
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                deliver_due(self.ctx, self.client)
            except Exception:  # the next kick or scheduler pass tries again
                log.exception("outbox pass failed")
