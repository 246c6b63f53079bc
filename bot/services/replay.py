"""Refusing a replayed signed request (the login webhook, DESIGN section 7).

A signature is valid for `WINDOW` either side of its timestamp, so whoever sees a signed
request could send it again within that window. `claim` records each accepted signature
under a primary key: the first claim wins, in whatever process it runs, because the
database (shared by every web process) is the last word. The claim commits in its own
transaction, before the request's work: a legitimate sender signs each attempt with a
fresh timestamp, so a retry after a failure is a new signature and is not refused.

Time is Rollcall's clock; never the database's.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from bot.errors import Unavailable
from bot.services.context import Context
from bot.signing import WINDOW
from store.models import SeenSignature

log = logging.getLogger("rollcall.replay")
# A replay is refused by the timestamp check once its instant is WINDOW old; rows are kept
# twice that, so processes whose clocks differ by up to WINDOW still agree.
KEEP = 2 * WINDOW


def claim(ctx: Context, signature: str, signed_at: datetime) -> bool:
    """Record `signature` as received: True the first time, False when any process sharing
    the database received it before. Raises Unavailable when the database is."""
    now = ctx.clock.now()
    try:
        with ctx.uow as work:
            work.session.add(SeenSignature(signature=signature, signed_at=signed_at,
                                           received_at=now))
            try:
                work.session.flush()
            except IntegrityError:  # the primary key: seen before
                return False
            work.commit()
    except DBAPIError as exc:
        raise Unavailable() from exc
    forget_old(ctx, now)
    return True


def forget_old(ctx: Context, now: datetime) -> int:
    """Delete what no signature check would accept any more; how many rows went. A failure
    here is only logged: the claim it follows already stands."""
    try:
        with ctx.uow as work:
            gone = work.session.execute(
                delete(SeenSignature).where(SeenSignature.signed_at < now - KEEP))
            work.commit()
    except SQLAlchemyError:
        log.warning("could not delete old seen signatures; will try on the next claim",
                    exc_info=True)
        return 0
    return gone.rowcount or 0
