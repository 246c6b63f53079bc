"""The directory's bearer tokens (DESIGN section 10 "Tokens"): created and revoked by a
SUPER over all projects, checked on every SCIM request.

A token is `secrets.token_urlsafe(32)` (256 random bits), returned once by
`create_token` and never stored, logged or audited: only its SHA-256 is kept, and a
request's token is looked up by that digest and compared in constant time. A secret that
random needs no slow hash (as for passwords, bot/passwords.py). The directory acts as the
token's creator, so the creator must still be an active SUPER over all projects who can
act now; `last_used_at` is written at most once a minute per token, in a short
transaction of its own that never takes the writers' lock, so reads do not queue.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.errors import Conflict, NotFound, PermissionDenied, Unauthenticated
from bot.rules import require_org_super
from bot.services.actors import clip, load_actor
from bot.services.audit import record
from bot.services.context import Context, Via
from bot.services.guards import is_org_super
from bot.services.refusals import refusing
from bot.services.transactions import reading, writing
from bot.validation import clean_name
from store.models import ScimToken, User

log = logging.getLogger("rollcall.scim")

USE_PRECISION = timedelta(minutes=1)  # `last_used_at` is written at most this often
TOKEN_MAX = 512  # longer than any token Rollcall makes: refused before hashing
CREATE = "rollcall scim token create --name NAME --actor EMAIL"


@dataclass(frozen=True)
class TokenView:
    name: str
    created_by: str  # the creator's email, whom the directory acts as
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def digest(token: str) -> str:
    """The SHA-256 (hex) of a token: all that is kept of it."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@refusing("scim.token_create")
def create_token(ctx: Context, *, actor: str, via: Via, name: str) -> str:
    """A new token for the directory, named `name` (unique); returned here once."""
    title = clean_name(name, "Token name")
    token = secrets.token_urlsafe(32)
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        require_org_super(acting, "Creating a SCIM token")
        if session.scalar(select(ScimToken.id).where(ScimToken.name == title)) is not None:
            raise Conflict(f"A SCIM token named {title} exists already (revoked ones keep "
                           "their names); pick another name.")
        try:
            with session.begin_nested():
                session.add(ScimToken(name=title, token_hash=digest(token),
                                      created_by_user_id=acting_user.id, created_at=now))
        except IntegrityError as exc:  # another process took the name a moment ago
            raise Conflict(f"A SCIM token named {title} was created a moment ago; pick "
                           "another name.") from exc
        record(session, at=now, via=via, action="scim.token_create", actor=acting_user,
               subject=None, before=None, reason=f"SCIM token {title}")
    return token


@refusing("scim.token_revoke")
def revoke_token(ctx: Context, *, actor: str, via: Via, name: str) -> str:
    """Revoke the token named `name`: requests presenting it get 401 from now on."""
    title = (name or "").strip()
    with writing(ctx) as (session, now):
        acting_user, acting = load_actor(session, actor)
        require_org_super(acting, "Revoking a SCIM token")
        row = session.scalar(select(ScimToken).where(ScimToken.name == title))
        if row is None:
            raise NotFound(f"No SCIM token is named {clip(title)}; `rollcall scim token "
                           "list` shows their names.")
        if row.revoked_at is not None:
            return f"The SCIM token {row.name} was revoked already; nothing changed."
        row.revoked_at = now
        record(session, at=now, via=via, action="scim.token_revoke", actor=acting_user,
               subject=None, before=None, reason=f"SCIM token {row.name}")
    return (f"The SCIM token {row.name} is revoked: the directory's requests that present "
            "it are refused from now on.")


def list_tokens(ctx: Context) -> list[TokenView]:
    """Every token by name, revoked ones too; never the token itself."""
    with reading(ctx) as session:
        rows = session.execute(
            select(ScimToken.name, User.email, ScimToken.created_at, ScimToken.last_used_at,
                   ScimToken.revoked_at)
            .join(User, User.id == ScimToken.created_by_user_id).order_by(ScimToken.name))
        return [TokenView(*row) for row in rows]


def authenticate(ctx: Context, token: str | None) -> str:
    """The email of the token's creator, whom the directory acts as. Unauthenticated: no
    token, or one that is unknown or revoked; PermissionDenied: the creator is no longer
    an active SUPER over all projects who can act now."""
    if not token or len(token) > TOKEN_MAX:
        raise _unauthenticated("no token" if not token else "an unknown token")
    wanted = digest(token)
    with reading(ctx) as session:
        row = session.scalar(select(ScimToken).where(ScimToken.token_hash == wanted))
        if row is None or not hmac.compare_digest(row.token_hash, wanted):
            raise _unauthenticated("an unknown token")
        if row.revoked_at is not None:
            raise _unauthenticated(f"the SCIM token {row.name}, which was revoked")
        creator = session.get(User, row.created_by_user_id)
        now = ctx.clock.now()
        due = row.last_used_at is None or now - row.last_used_at >= USE_PRECISION
        token_id, name, acts = row.id, row.name, creator is not None and is_org_super(creator)
        email = creator.email if creator is not None else "its creator"
    if due:
        _note_use(ctx, token_id, now)
    if not acts:
        raise PermissionDenied(
            f"The SCIM token {name} acts as {email}, who is no longer an active SUPER admin "
            "over all projects who can act now, so the directory cannot act as them. A SUPER "
            f"admin over all projects should create a new token (`{CREATE}`), put it in the "
            "identity provider, and revoke this one.")
    return email


def _unauthenticated(what: str) -> Unauthenticated:
    return Unauthenticated(
        f"This request carries {what}, so Rollcall does not know who sends it. Send "
        "`Authorization: Bearer TOKEN` with a token that a SUPER admin over all projects "
        f"creates with `{CREATE}`.")


def _note_use(ctx: Context, token_id: int, now: datetime) -> None:
    """Record the use, unless another request did in the last minute: one conditional
    UPDATE of this token's row, not the organization's (no writers' lock). Bookkeeping
    only, so a failure is logged and the request goes on."""
    try:
        with ctx.uow as uow:
            uow.session.execute(
                update(ScimToken)
                .where(ScimToken.id == token_id,
                       or_(ScimToken.last_used_at.is_(None),
                           ScimToken.last_used_at <= now - USE_PRECISION))
                .values(last_used_at=now))
            uow.commit()
    except DBAPIError as exc:
        log.warning("Could not record the use of SCIM token %s: %s", token_id,
                    str(exc.orig).splitlines()[0] if exc.orig else exc)
