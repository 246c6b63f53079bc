"""A loopback fake of Slack's Web API and of response_url endpoints that records every call.

It answers the methods Rollcall uses, knows a directory of Slack users (id -> email) and
of shared files (`files.info`, and their bytes served at `url_private_download`, by GET on
this server, each download recorded as a "download" call with its Authorization header),
and can be told to fail a method (an error, or HTTP 429 with Retry-After) a number of times.

Uploads go as slack_sdk's `files_upload_v2` sends them: `files.getUploadURLExternal`
answers an upload URL on this server, the bytes are POSTed there (recorded as an "upload"
call; `fail("upload", 500, ...)` refuses them), and `files.completeUploadExternal` shares
the file: only then is it in `uploads` (an `Uploaded` per shared file, with its bytes).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class FakeFile:
    """A file shared in Slack: what files.info says about it, and its bytes. `size` (else
    the bytes' length) and `url` (else this server's /files/ID) say what Slack claims;
    `redirect` makes a GET of it answer 302 to that address."""

    name: str
    data: bytes
    filetype: str = "csv"
    size: int | None = None
    url: str | None = None
    redirect: str | None = None


@dataclass
class Uploaded:
    """A file shared by files.completeUploadExternal: where, what, and its bytes."""

    id: str
    channel: str | None
    filename: str
    title: str | None
    alt_txt: str | None
    data: bytes


@dataclass
class FakeSlack:
    users: dict[str, str] = field(default_factory=dict)  # Slack user id -> profile email
    # Slack user id -> extra fields of its user object (`deleted`, `is_bot`, `is_stranger`)
    user_flags: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    responses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failures: dict[str, list[tuple[int, dict[str, Any], int]]] = field(default_factory=dict)
    files: dict[str, FakeFile] = field(default_factory=dict)  # file id -> the file
    uploads: list[Uploaded] = field(default_factory=list)  # shared uploads, in order
    # file id -> what getUploadURLExternal was told, and the bytes once POSTed
    staged: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._changed = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/upload/"):  # a file's bytes, not a form
                    return fake._receive(self, self.path.removeprefix("/upload/"), body)
                fake._handle(self, body.decode())

            def do_GET(self) -> None:  # Web API methods slack_sdk calls by GET; file bytes
                path, _, query = self.path.partition("?")
                if path.startswith("/files/"):
                    return fake._download(self, path.removeprefix("/files/"))
                fake._handle(self, query)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api_url = self.url + "/api/"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def response_url(self, key: str) -> str:
        return f"{self.url}/response/{key}"

    def fail(self, method: str, status: int, body: dict[str, Any], times: int = 1,
             retry_after: int = 0) -> None:
        """The next `times` calls of `method` answer `status` (429s with Retry-After)."""
        self.failures.setdefault(method, []).extend([(status, body, retry_after)] * times)

    def add_file(self, file_id: str, name: str, data: bytes, **claims: Any) -> FakeFile:
        self.files[file_id] = FakeFile(name, data, **claims)
        return self.files[file_id]

    def file_url(self, file_id: str) -> str:
        return f"{self.url}/files/{file_id}"

    # --- the server side -------------------------------------------------------------
    def _download(self, request: BaseHTTPRequestHandler, file_id: str) -> None:
        self._record(Call("download", {"file": file_id, "host": request.headers.get("Host"),
                                       "authorization": request.headers.get("Authorization")}))
        shared = self.files.get(file_id)
        if shared is None:
            return self._send(request, 404, {}, raw=b"not found")
        if shared.redirect:
            return self._send(request, 302, {}, headers={"Location": shared.redirect}, raw=b"")
        request.send_response(200)
        request.send_header("Content-Type", "text/csv")
        request.send_header("Content-Length", str(len(shared.data)))
        request.end_headers()
        request.wfile.write(shared.data)

    def _handle(self, request: BaseHTTPRequestHandler, body: str) -> None:
        path = request.path.partition("?")[0]
        if request.headers.get("Content-Type", "").startswith("application/json"):
            params = json.loads(body or "{}")
        else:
            params = {k: v[0] for k, v in parse_qs(body).items()}
            for key in ("view", "blocks"):
                if isinstance(params.get(key), str):
                    params[key] = json.loads(params[key])
        if path.startswith("/response/"):
            key = path.removeprefix("/response/")
            self._record(Call("response", params), key)
            return self._send(request, 200, {"ok": True}, raw=b"ok")
        method = path.removeprefix("/api/")
        queued = self.failures.get(method)
        if queued:
            status, payload, retry_after = queued.pop(0)
            self._record(Call(method, {**params, "_failed": status}))
            headers = {"Retry-After": str(retry_after)} if status == 429 else {}
            return self._send(request, status, payload, headers=headers)
        self._record(Call(method, params))
        return self._send(request, 200, self._answer(method, params))

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "team_id": "T1", "bot_id": "B1",
                    "url": "https://example.slack.com/"}
        if method == "users.info":
            email = self.users.get(params.get("user", ""))
            if email is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": params["user"], "profile": {"email": email},
                                         **self.user_flags.get(params["user"], {})}}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            return {"ok": True, "view": {"id": "V1", **(params.get("view") or {})}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D1"}}
        if method == "files.info":
            return self._file_info(params.get("file", ""))
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(self.staged) + 1:06d}"
            self.staged[file_id] = {"filename": params.get("filename"),
                                    "length": int(params.get("length") or 0),
                                    "alt_txt": params.get("alt_txt")}
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            return self._complete(params)
        return {"ok": True, "ts": "1.0", "channel": params.get("channel", "C1")}

    def _receive(self, request: BaseHTTPRequestHandler, file_id: str, data: bytes) -> None:
        """The upload URL: keeps the bytes of a staged file (or fails on demand)."""
        queued = self.failures.get("upload")
        if queued:
            status, _, _ = queued.pop(0)
            self._record(Call("upload", {"file": file_id, "size": len(data), "_failed": status}))
            return self._send(request, status, {}, raw=b"upload failed")
        staged = self.staged.get(file_id)
        if staged is None or staged["length"] != len(data):
            return self._send(request, 400, {}, raw=b"bad upload")
        staged["data"] = data
        self._record(Call("upload", {"file": file_id, "size": len(data)}))
        return self._send(request, 200, {}, raw=b"OK - " + str(len(data)).encode())

    def _complete(self, params: dict[str, Any]) -> dict[str, Any]:
        shared = []
        for entry in json.loads(params.get("files") or "[]"):
            staged = self.staged.get(entry.get("id", ""))
            if staged is None or "data" not in staged:
                return {"ok": False, "error": "file_not_found"}
            shared.append(Uploaded(entry["id"], params.get("channel_id"), staged["filename"],
                                   entry.get("title"), staged["alt_txt"], staged["data"]))
        with self._changed:
            self.uploads.extend(shared)
        return {"ok": True, "files": [{"id": f.id, "name": f.filename, "title": f.title}
                                      for f in shared]}

    def _file_info(self, file_id: str) -> dict[str, Any]:
        shared = self.files.get(file_id)
        if shared is None:
            return {"ok": False, "error": "file_not_found"}
        url = shared.url or self.file_url(file_id)
        return {"ok": True, "file": {
            "id": file_id, "name": shared.name, "title": shared.name, "mode": "hosted",
            "filetype": shared.filetype, "mimetype": "text/csv" if shared.filetype == "csv"
            else "application/octet-stream", "is_external": False,
            "size": len(shared.data) if shared.size is None else shared.size,
            "url_private": url, "url_private_download": url}}

    def _record(self, call: Call, key: str | None = None) -> None:
        if key is not None:
            call.params["_key"] = key
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, payload: dict[str, Any],
              headers: dict[str, str] | None = None, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(data)

    # --- what tests ask --------------------------------------------------------------
    def wait_for(self, method: str, key: str | None = None, count: int = 1,
                 timeout: float = 10, channel: str | None = None) -> list[Call]:
        """Block until `count` calls of `method` (to response_url `key`, or posting to
        `channel`) were recorded."""
        def matching() -> list[Call]:
            return [c for c in self.calls if c.method == method
                    and (key is None or c.params.get("_key") == key)
                    and (channel is None or c.params.get("channel") == channel)]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matching()) >= count, timeout=timeout):
                raise AssertionError(f"no {method} call (key {key}) within {timeout}s: "
                                     f"{[c.method for c in self.calls]}")
            return matching()

    def called(self, method: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.method == method]
