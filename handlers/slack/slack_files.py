"""A CSV file shared with Rollcall, fetched from Slack: `files.info`, then its
`url_private_download` with the bot token.

The token goes to Slack's file host (https://files.slack.com) and, when SLACK_API_URL
points elsewhere (tests, a proxy), to that host; to nothing else: a file URL or a
redirect to any other host is refused before a byte is sent. The size is checked twice:
`size` from files.info before downloading, then at most MAX_BYTES + 1 bytes are read,
within DEADLINE seconds.
"""

from __future__ import annotations

import hashlib
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import InvalidInput

log = logging.getLogger("rollcall.slack")
MAX_BYTES = 5 * 1024 * 1024
DEADLINE = 30.0  # seconds for the whole download
CHUNK = 64 * 1024
SLACK_FILES = ("https", "files.slack.com", 443)
SLACK_API = ("https", "slack.com", 443)


@dataclass(frozen=True)
class SharedFile:
    id: str
    name: str
    data: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.scheme, parts.hostname.lower(), port


def token_origins(client: WebClient) -> set[tuple[str, str, int]]:
    """Where the bot token may be sent for a file: Slack's file host, and SLACK_API_URL's
    host when it is not Slack's own."""
    api = _origin(client.base_url)
    return {SLACK_FILES} | ({api} if api and api != SLACK_API else set())


class _KeepToHosts(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a host allowed to see the token (urllib would carry the
    Authorization header to any host)."""

    max_redirections = 3

    def __init__(self, allowed: set[tuple[str, str, int]]) -> None:
        self.allowed = allowed

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Any:
        if _origin(newurl) not in self.allowed:
            log.warning("refused a file redirect to %s", urlsplit(newurl).hostname)
            raise InvalidInput("Slack sent the file from an unexpected address, so Rollcall "
                               "did not download it. Tell whoever runs Rollcall.")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_csv(client: WebClient, file_id: str) -> SharedFile:
    """The file's bytes, once it is a CSV within the size limit; else InvalidInput."""
    try:
        info = client.files_info(file=file_id)["file"]
    except SlackApiError as exc:
        raise InvalidInput(f"Rollcall could not read that file ({exc.response.get('error')});"
                           " share it again.") from exc
    name = str(info.get("name") or info.get("title") or file_id)[:200]
    filetype = str(info.get("filetype") or "").lower()
    if filetype != "csv" and not name.lower().endswith(".csv"):
        raise InvalidInput(f"{name} is not a CSV file ({filetype or 'unknown type'}). "
                           "Rollcall imports users from a .csv file; `/users import` says how.")
    size = info.get("size")
    if not isinstance(size, int) or size > MAX_BYTES:
        raise InvalidInput(f"{name} is larger than {MAX_BYTES // 1024 // 1024} MB; split it "
                           "into smaller files.")
    url = info.get("url_private_download") or info.get("url_private")
    if info.get("is_external") or not isinstance(url, str):
        raise InvalidInput(f"{name} is not stored in Slack, so Rollcall cannot read it; "
                           "upload the file itself.")
    return SharedFile(file_id, name, _download(client, url, name))


def _download(client: WebClient, url: str, name: str) -> bytes:
    allowed = token_origins(client)
    if _origin(url) not in allowed:
        log.warning("refused to download a file from %s", urlsplit(url).hostname)
        raise InvalidInput(f"Slack gave an unexpected address for {name}, so Rollcall did "
                           "not download it. Tell whoever runs Rollcall.")
    proxies = {"http": client.proxy, "https": client.proxy} if client.proxy else {}
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler(proxies), _KeepToHosts(allowed),
        urllib.request.HTTPSHandler(context=client.ssl))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    deadline = time.monotonic() + DEADLINE
    try:
        with opener.open(request, timeout=20) as response:
            if "text/html" in response.headers.get("Content-Type", ""):
                raise InvalidInput("Slack answered with a web page instead of the file: the "
                                   "app may lack the files:read scope. Tell whoever runs "
                                   "Rollcall.")
            data = bytearray()
            while len(data) <= MAX_BYTES and time.monotonic() < deadline:
                chunk = response.read(min(CHUNK, MAX_BYTES + 1 - len(data)))
                if not chunk:
                    break
                data += chunk
            else:
                raise InvalidInput(f"{name} is larger than {MAX_BYTES // 1024 // 1024} MB or "
                                   "too slow to download; split it into smaller files.")
    except (urllib.error.URLError, OSError) as exc:
        log.warning("file download failed: %s", type(exc).__name__)
        raise InvalidInput(f"Rollcall could not download {name} from Slack; try again in a "
                           "moment.") from exc
    return bytes(data)
