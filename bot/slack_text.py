"""Escaping for Slack text: the one place where a string becomes Slack mrkdwn.

Slack reads `&`, `<` and `>` as control characters in mrkdwn text objects and in a
message's top-level `text` (which chat.postMessage and response_url posts parse as mrkdwn,
and which notifications show): `<!channel>` pings a channel, `<@U123>` mentions someone,
`<https://x|label>` shows a link whose address is hidden. Slack's documented escaping
replaces them with `&amp;`, `&lt;` and `&gt;`, and Slack shows the characters again.

Every builder that places text in a mrkdwn object or in a top-level `text` passes it
through `mrkdwn()`: escape, then cut to Slack's limit without splitting an entity. Text
that is already mrkdwn (escaped, plus markup Rollcall built on purpose, such as a
`mention()`) is a `Mrkdwn`, which `escape()` leaves as it is, so nothing is escaped twice.
Any string operation on a `Mrkdwn` (an f-string, `+`, slicing) gives a plain `str` again,
which is escaped: forgetting a marker shows `&amp;` literally, it never lets markup in.

plain_text objects (button and option labels, titles, headers, input values) are not
escaped: Slack does not parse them, and shows what it is given.
"""

from __future__ import annotations

import re

TEXT_LIMIT = 3000
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{1,20}")


class Mrkdwn(str):
    """Text that is already Slack mrkdwn: escaped, with only the markup Rollcall meant."""

    __slots__ = ()


def escape(text: str) -> Mrkdwn:
    """`&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;`; a `Mrkdwn` is returned unchanged."""
    if isinstance(text, Mrkdwn):
        return text
    return Mrkdwn(str(text).translate(_ENTITIES))


def cut(text: Mrkdwn, limit: int = TEXT_LIMIT) -> Mrkdwn:
    """At most `limit` characters of mrkdwn, never ending inside an entity (`&am`) or
    inside markup (`<@U12`): the cut moves back to before it."""
    if len(text) <= limit:
        return text
    head = str(text)[:limit]
    amp = head.rfind("&", max(0, limit - 4))  # entities are at most 5 characters long
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    if head.rfind("<") > head.rfind(">"):
        head = head[:head.rfind("<")]
    return Mrkdwn(head)


def mrkdwn(text: str, limit: int = TEXT_LIMIT) -> Mrkdwn:
    """`text` ready for a mrkdwn text object or a top-level `text`: escaped, then cut."""
    return cut(escape(text), limit)


def compose(*parts: str) -> Mrkdwn:
    """Parts joined into one mrkdwn text: plain strings escaped, `Mrkdwn` kept as is."""
    return Mrkdwn("".join(escape(part) for part in parts))


def mention(slack_user_id: str) -> Mrkdwn:
    """A deliberate mention of one Slack user (`<@U123>`); anything that is not a Slack
    user id is shown as the text it is."""
    if _SLACK_ID.fullmatch(slack_user_id):
        return Mrkdwn(f"<@{slack_user_id}>")
    return escape(f"<@{slack_user_id}>")
