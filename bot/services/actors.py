"""Who acts and on whom: users looked up by email, as a person typed it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.errors import NotFound
from bot.rules import Actor
from bot.services.views import actor_of, user_view
from bot.validation import email_key
from store import repository
from store.models import User


def find_user(session: Session, email: str) -> User:
    user = repository.live_user_by_email_key(session, email_key(email.strip()))
    if user is None:
        raise NotFound(f"No user has the email {clip(email)}; check the spelling or add them.")
    return user


def load_actor(session: Session, email: str | None) -> tuple[User, Actor]:
    if not email:
        raise NotFound("Say who is acting: pass --actor with your admin email.")
    user = repository.live_user_by_email_key(session, email_key(email.strip()))
    if user is None:
        raise NotFound(
            f"{clip(email)} is not a Rollcall user, so it cannot act; "
            "use the email of an admin."
        )
    return user, actor_of(user_view(user))


def clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
