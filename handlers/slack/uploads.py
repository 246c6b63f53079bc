"""A file for the person who asked (`/billing history`'s chart).

Slack has no ephemeral files: a file uploaded to a channel is seen by every member, and an
ephemeral message cannot carry one. Billing figures are for admins who may read
invoices, so the chart is never uploaded to the channel where it was asked (which may be
public). The figures come back as the usual ephemeral reply, and the image is uploaded
to the asker's direct message with Rollcall (`conversations.open`, then
`files_upload_v2`), which only they and Rollcall see; asked there, it appears right
there.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.services.billing_files import Upload
from handlers.slack.support import Deps

log = logging.getLogger("rollcall.slack")


def send_to_asker(deps: Deps, upload: Upload, *, user_id: str, asked_in: str | None) -> str:
    """Upload `upload` to the asker's DM with Rollcall; the sentence that says where it
    is, or why it is not there (the reply goes out either way)."""
    try:
        dm = deps.client.conversations_open(users=user_id)["channel"]["id"]
        deps.client.files_upload_v2(channel=dm, filename=upload.filename,
                                    content=upload.content, title=upload.title,
                                    alt_txt=upload.alt_text)
    except SlackApiError as exc:
        error = exc.response.get("error") or exc.response.status_code
        log.warning("could not upload %s to the asker's DM: %s", upload.filename, error)
        return (f"Rollcall could not send you the image (Slack answered {error}); whoever "
                "runs Rollcall can check that the app has the im:write and files:write "
                "scopes (manifest.yml) and reinstall it.")
    except (SlackClientError, OSError) as exc:
        log.warning("could not upload %s to the asker's DM: %s", upload.filename, exc)
        return "Rollcall could not reach Slack to send you the image; try again in a moment."
    if dm == asked_in:
        return "The image is in this conversation, visible only to you and Rollcall."
    return ("The image is in your direct message with Rollcall (Slack cannot show a file "
            "to you alone in a channel).")
