"""Signed requests: Slack's v0 scheme, which the login webhook uses too (DESIGN section 7).

`X-…-Signature: v0=hex(hmac_sha256(secret, "v0:" + timestamp + ":" + body))`, the
timestamp in epoch seconds at most `WINDOW` from the clock. Checked on the raw bytes of
the body, before anything decodes or parses them; any malformed header (not ASCII, not
the expected shape) is simply a bad signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.clock import Clock

WINDOW = timedelta(minutes=5)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: str.isdigit() takes "²"
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


@dataclass(frozen=True)
class Signed:
    """A request whose signature checked out: the signature, and the instant it claims."""

    signature: str
    at: datetime


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str | None, timestamp: str | None, signature: str | None, body: bytes,
           clock: Clock) -> Signed | None:
    """The request's signature if it is valid now, else None (never an exception)."""
    timestamp, signature = (timestamp or "").strip(), (signature or "").strip()
    if not secret or not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        return None
    if abs(clock.now().timestamp() - int(timestamp)) > WINDOW.total_seconds():
        return None
    expected = signature_for(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii")):
        return None
    return Signed(expected, datetime.fromtimestamp(int(timestamp), UTC))
