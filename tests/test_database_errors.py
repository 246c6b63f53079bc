"""Database errors and SQL logs never carry statement values (issue 9, finding 12a): a
logged failure shows no password hash and no email, on SQLite and PostgreSQL."""

import logging
import traceback

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from store.db import make_engine
from store.models import User

HASH = "$argon2id$v=19$m=65536,t=3,p=4$DISTINCTIVE-SALT$DISTINCTIVE-HASH"
EMAIL = "Secret.Sam@Example.com"


def everything_logged(exc: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    """What a listener's `log.exception` writes, plus the exception's own strings."""
    with caplog.at_level(logging.ERROR, logger="rollcall.test"):
        try:
            raise RuntimeError("listener failed") from exc
        except RuntimeError:
            logging.getLogger("rollcall.test").exception("listener failed")
    return "\n".join([caplog.text, str(exc), repr(exc), *traceback.format_exception(exc)])


def test_a_failed_insert_shows_neither_the_hash_nor_the_email(ctx, caplog):
    with ctx.uow as uow:
        sam = uow.session.scalar(select(User))
        uow.session.add(User(first_name="S", last_name="S", email=EMAIL,
                             email_key="sam@example.com", status="active", password_hash=HASH,
                             created_at=sam.created_at))
        with pytest.raises(IntegrityError) as caught:
            uow.session.flush()
    logged = everything_logged(caught.value, caplog)
    assert "listener failed" in logged and "IntegrityError" in logged  # the error is there
    assert "DISTINCTIVE" not in logged
    assert "secret.sam@example.com" not in logged.casefold()
    assert "sam@example.com" not in logged.casefold()  # PostgreSQL's DETAIL names the key


def test_a_refused_update_does_not_repeat_the_row(ctx, caplog):
    """PostgreSQL's CHECK violation DETAIL lists the whole failing row, hash included."""
    with ctx.uow as uow:
        sam = uow.session.scalar(select(User))
        sam.password_hash = HASH
        uow.session.flush()
        with pytest.raises(IntegrityError) as caught:
            uow.session.execute(update(User).values(status="frozen"))
    logged = everything_logged(caught.value, caplog)
    assert "check constraint" in logged.casefold()  # still says what went wrong
    assert "DISTINCTIVE" not in logged and "sam@example.com" not in logged


def test_sql_logging_hides_the_values(database_url, caplog):
    engine = make_engine(database_url)
    try:
        with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"), engine.connect() as conn:
            assert conn.execute(text("SELECT :v"), {"v": "DISTINCTIVE-VALUE"}).scalar()
        assert "SELECT" in caplog.text and "DISTINCTIVE" not in caplog.text
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "postgres://u@localhost/db"])
def test_every_engine_hides_parameters(url):
    engine = make_engine(url)  # PostgreSQL: no connection is made
    assert engine.hide_parameters is True
    engine.dispose()


def test_a_shortened_message_still_says_what_went_wrong(database_url):
    """`_database_errors` (bot/services/context.py) reads the driver's message."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn, pytest.raises(DBAPIError) as caught:
            conn.execute(text("SELECT * FROM nowhere WHERE id = :id"), {"id": 1})
        message = str(caught.value.orig)
        assert "no such table" in message or 'relation "nowhere" does not exist' in message
    finally:
        engine.dispose()
