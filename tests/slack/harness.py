"""Serve Rollcall's WSGI app on loopback with a real HTTP server and sign requests the way
Slack does (v0 HMAC-SHA256 over "v0:timestamp:body" with the signing secret)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlencode, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

SECRET = "test-signing-secret"
_keys = itertools.count(1)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def serve(app: Any) -> tuple[str, Any]:
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingServer,
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


@dataclass
class Reply:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def sign(body: str, timestamp: int, secret: str = SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post(url: str, body: str, content_type: str, *, timestamp: int | None = None,
         signature: str | None = None) -> Reply:
    ts = int(time.time()) if timestamp is None else timestamp
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature or sign(body, ts),
    })
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, response.read().decode())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.read().decode())


def sign_bytes(body: bytes, timestamp: int | str, secret: str = SECRET) -> str:
    """`sign` over raw bytes, for bodies that are not UTF-8."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def raw_post(url: str, headers: list[tuple[str, str | bytes]], body: bytes = b"",
             timeout: float = 5) -> Reply:
    """POST exactly these header lines (no Content-Length unless given; str values go out
    as latin-1, bytes as they are) and `body`, which may be shorter than declared."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.putrequest("POST", parts.path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        if body:
            conn.send(body)
        response = conn.getresponse()
        return Reply(response.status, response.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def get(url: str) -> Reply:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return Reply(response.status, response.read().decode())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.read().decode())


class SlackSide:
    """Builds Slack's requests: slash commands, button clicks, view submissions, events."""

    def __init__(self, base_url: str, fake: Any) -> None:
        self.events_url = base_url + "/slack/events"
        self.fake = fake

    def command(self, command: str, text: str, user: str, channel: str = "C1",
                **signing: Any) -> tuple[Reply, str]:
        key = f"r{next(_keys)}"
        body = urlencode({"command": command, "text": text, "user_id": user, "team_id": "T1",
                          "channel_id": channel, "response_url": self.fake.response_url(key),
                          "trigger_id": f"trigger-{key}", "token": "legacy"})
        return post(self.events_url, body, "application/x-www-form-urlencoded",
                    **signing), key

    def interact(self, payload: dict[str, Any]) -> tuple[Reply, str]:
        key = f"r{next(_keys)}"
        payload = {"team": {"id": "T1"}, "trigger_id": f"trigger-{key}", **payload}
        if payload.get("type") == "block_actions":
            payload.setdefault("response_url", self.fake.response_url(key))
            payload.setdefault("container", {"type": "message"})
            payload.setdefault("channel", {"id": "C1"})
        body = urlencode({"payload": json.dumps(payload)})
        return post(self.events_url, body, "application/x-www-form-urlencoded"), key

    def click(self, user: str, action_id: str, value: str) -> tuple[Reply, str]:
        return self.interact({"type": "block_actions", "user": {"id": user},
                              "actions": [{"action_id": action_id, "block_id": "b",
                                           "type": "button", "value": value,
                                           "action_ts": "1.0"}]})

    def submit(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> Reply:
        state = {"values": {block: {block: value} for block, value in values.items()}}
        payload = {"type": "view_submission", "user": {"id": user},
                   "view": {**view, "id": "V1", "state": state}}
        reply, _ = self.interact(payload)
        return reply

    def event(self, event: dict[str, Any]) -> Reply:
        body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                           "event_id": f"Ev{next(_keys)}", "event_time": int(time.time()),
                           "event": event})
        return post(self.events_url, body, "application/json")
