"""Import from Slack, end to end over HTTP: a CSV file shared in the DM with Rollcall gets
its dry run there; Import runs it as the clicker, checked again at click time (DESIGN
section 5). The fake Web API answers files.info and serves the file's bytes."""

import json

import pytest

from bot import services
from bot.services import Via, approvals
from bot.services.context import Channels
from handlers.slack.files import shared_files
from tests.slack.conftest import LEE, PAT, SAM, STRANGER
from tests.slack.test_commands_e2e import blocks_valid, reply

CSV = (b"email,first_name,last_name,projects\n"
       b"ada@example.com,Ada,Byron,alpha\n"
       b"bob@example.com,Bob,Ross,alpha\n")
MB = 1024 * 1024


def share(slack, user, *file_ids, **fields):
    """The `message` event Slack sends when `user` shares files in their DM with Rollcall."""
    event = {"type": "message", "subtype": "file_share", "channel_type": "im",
             "channel": f"D{user}", "user": user, "ts": "1700000000.000100", "text": "",
             "files": [{"id": f, "name": "shared"} for f in file_ids], **fields}
    response = slack.event(event)
    assert response.status == 200  # acked at once; the work runs after
    return event["channel"]


def answer(fake, channel, count=1):
    """The `count`-th message Rollcall posted in that DM (Block Kit checked)."""
    params = fake.wait_for("chat.postMessage", channel=channel, count=count)[count - 1].params
    blocks_valid(params)
    return params


def buttons(payload):
    return {e["action_id"]: e["value"] for b in payload["blocks"] if b["type"] == "actions"
            for e in b["elements"]}


def emails(ctx):
    return {u.email: u for u in services.list_users(ctx)}


def test_a_shared_csv_gets_its_dry_run_with_the_cost(org, slack, fake):
    fake.add_file("F1", "people.csv", CSV)
    dm = answer(fake, share(slack, SAM, "F1"))
    assert "people.csv" in dm["text"] and "2 rows ready, no problems" in dm["text"]
    assert "adds 2 active users: +$20.00 this cycle, +$20.00 a cycle after" in dm["text"]
    assert set(buttons(dm)) == {"import_run", "import_cancel"}
    value = json.loads(buttons(dm)["import_run"])
    assert value["file"] == "F1" and len(value["sha256"]) == 64 and "ada" not in str(value)
    download, = fake.called("download")
    assert download.params["authorization"] == "Bearer xoxb-test"  # the bot token
    assert "ada@example.com" not in emails(org)  # a dry run changes nothing


def test_import_creates_exactly_the_rows_and_a_second_click_does_nothing(org, slack, fake):
    fake.add_file("F1", "people.csv", CSV)
    before = set(emails(org))
    value = buttons(answer(fake, share(slack, SAM, "F1")))["import_run"]
    _, key = slack.click(SAM, "import_run", value)
    done = fake.wait_for("response", key)[0].params
    assert done["text"] == "Imported 2 users (2 active)." and done["replace_original"] is True
    users = emails(org)
    assert set(users) - before == {"ada@example.com", "bob@example.com"}
    assert users["ada@example.com"].projects == ("alpha",)
    assert users["bob@example.com"].status.value == "active"
    assert len(fake.called("download")) == 2  # downloaded again at click time
    _, again = slack.click(SAM, "import_run", value)  # a double click
    assert "already imported" in fake.wait_for("response", again)[0].params["text"]
    assert len(emails(org)) == len(users)


def test_cancel_imports_nothing(org, slack, fake):
    fake.add_file("F1", "people.csv", CSV)
    answer(fake, share(slack, SAM, "F1"))
    _, key = slack.click(SAM, "import_cancel", "cancel")
    done = fake.wait_for("response", key)[0].params
    assert done["text"] == "Cancelled; nothing was imported." and done["replace_original"]
    assert "ada@example.com" not in emails(org)


PROBLEMS = (b"email,first_name,last_name\nada@example.com,Ada,Byron\nnot-an-email,Bo,Ross\n"
            b"ADA@example.com,Ada,Again\nlee@example.com,Lee,Test\n")


@pytest.mark.parametrize(("name", "data", "claims", "sentence", "downloaded"), [
    ("people.xlsx", b"PK\x03\x04", {"filetype": "xlsx"}, "people.xlsx is not a CSV file", 0),
    ("big.csv", CSV, {"size": 5 * MB + 1}, "big.csv is larger than 5 MB", 0),
    ("liar.csv", CSV + b"x" * (5 * MB), {"size": 100}, "liar.csv is larger than 5 MB", 1),
    ("latin1.csv", "email,first_name,last_name\nzoe@example.com,Zoë,Ng\n".encode("latin-1"),
     {}, "latin1.csv: The file is not UTF-8 text", 1),
    ("noheader.csv", b"ada@example.com,Ada,Byron\n", {}, "has no email", 1),
    ("problems.csv", PROBLEMS, {}, "4 rows read, 2 problems; nothing was imported", 1),
])
def test_a_bad_file_gets_a_sentence_and_nothing_is_created(org, slack, fake, name, data,
                                                            claims, sentence, downloaded):
    fake.add_file("F2", name, data, **claims)
    before = set(emails(org))
    dm = answer(fake, share(slack, SAM, "F2"))
    assert sentence in dm["text"]
    assert buttons(dm) == {}  # no Import button
    assert len(fake.called("download")) == downloaded  # a file refused by its claims is not
    assert set(emails(org)) == before


def test_problems_are_listed_by_row_number(org, slack, fake):
    fake.add_file("F2", "problems.csv", PROBLEMS)
    text = str(answer(fake, share(slack, SAM, "F2"))["blocks"])
    assert "row 3: not-an-email is not a valid email" in text
    assert "row 4: ADA@example.com repeats row 2." in text
    assert "row 5:" not in text  # Lee exists as the row says: left alone (issue 11)


def test_a_long_list_of_problems_is_trimmed_to_block_kit_limits(org, slack, fake):
    rows = "".join(f"bad{n},A,B\n" for n in range(500))
    fake.add_file("F2", "bad.csv", ("email,first_name,last_name\n" + rows).encode())
    dm = answer(fake, share(slack, SAM, "F2"))  # blocks_valid: 50 blocks, 3000 characters
    assert "500 problems" in dm["text"] and "…and 460 more problems" in str(dm["blocks"])


def test_strangers_and_non_admins_get_a_sentence_and_nothing_is_fetched(org, slack, fake):
    fake.add_file("F1", "people.csv", CSV)
    stranger = answer(fake, share(slack, STRANGER, "F1"))
    assert "not a Rollcall user yet" in stranger["text"]
    plain = answer(fake, share(slack, LEE, "F1"))
    assert "managing users needs ASSISTANT or SUPER" in plain["text"]
    assert fake.called("files.info") == [] and fake.called("download") == []
    # nor may they click a button of someone else's dry run
    value = json.dumps({"file": "F1", "sha256": "0" * 64})
    _, key = slack.click(LEE, "import_run", value)
    assert "managing users" in fake.wait_for("response", key)[0].params["text"]
    assert "ada@example.com" not in emails(org)


def test_an_unknown_file_and_a_malformed_button_get_a_sentence(org, slack, fake):
    assert "could not read that file (file_not_found)" in answer(
        fake, share(slack, SAM, "F404"))["text"]
    for value in ("F1", json.dumps({"file": "F1", "sha256": "../etc"}), "{}"):
        _, key = slack.click(SAM, "import_run", value)
        assert "out of date" in fake.wait_for("response", key)[0].params["text"]
    assert fake.called("download") == []


def test_the_token_never_leaves_slacks_hosts(org, slack, fake):
    elsewhere = fake.file_url("F3").replace("127.0.0.1", "localhost")  # another host
    fake.add_file("F3", "people.csv", CSV, url=elsewhere)
    fake.add_file("F4", "people.csv", CSV, redirect=elsewhere)
    assert "unexpected address" in answer(fake, share(slack, SAM, "F3"))["text"]
    assert fake.called("download") == []  # never fetched
    assert "unexpected address" in answer(fake, share(slack, SAM, "F4"), count=2)["text"]
    hosts = [c.params["host"] for c in fake.called("download")]
    assert hosts == [fake.url.removeprefix("http://")]  # the redirect was not followed
    fake.add_file("F1", "people.csv", CSV)
    fake.add_file("F5", "people.csv", b"", redirect=fake.file_url("F1"))  # within the host
    assert "2 rows ready" in answer(fake, share(slack, SAM, "F5"), count=3)["text"]
    assert [c.params["authorization"] for c in fake.called("download")[1:]] == [
        "Bearer xoxb-test", "Bearer xoxb-test"]


def test_a_file_changed_since_its_dry_run_is_checked_again(org, slack, fake):
    shared = fake.add_file("F1", "people.csv", CSV)
    value = buttons(answer(fake, share(slack, SAM, "F1")))["import_run"]
    shared.data = CSV + b"cy@example.com,Cy,Young,nowhere\n"
    _, key = slack.click(SAM, "import_run", value)
    again = fake.wait_for("response", key)[0].params
    assert again["replace_original"] is True and "changed since its dry run" in again["text"]
    assert "no project has the key nowhere" in str(again["blocks"]) and not buttons(again)
    assert "ada@example.com" not in emails(org)
    shared.data = CSV + b"cy@example.com,Cy,Young,alpha\n"
    _, key = slack.click(SAM, "import_run", value)
    fixed = fake.wait_for("response", key)[0].params
    assert "3 rows ready" in fixed["text"] and buttons(fixed)["import_run"] != value
    _, key = slack.click(SAM, "import_run", buttons(fixed)["import_run"])
    assert fake.wait_for("response", key)[0].params["text"] == "Imported 3 users (3 active)."


def test_with_seat_approval_an_assistants_import_is_a_request(org, slack, fake):
    org.channels = Channels(billing="C0BILLING", approvals="C0APPROVALS")
    approvals.set_policy(org, actor="sam@example.com", via=Via.CLI, seat_approval=True)
    fake.add_file("F1", "people.csv", CSV)
    value = buttons(answer(fake, share(slack, PAT, "F1")))["import_run"]
    _, key = slack.click(PAT, "import_run", value)
    asked = fake.wait_for("response", key)[0].params["text"]
    assert "Request #1 sent to the approvers: import 2 users from a CSV file (2 active)" in asked
    card = answer(fake, "C0APPROVALS")
    assert "asks to import 2 users from a CSV file (2 active)" in card["text"]
    assert "+$20.00 this cycle" in str(card["blocks"])
    _, twice = slack.click(PAT, "import_run", value)
    assert "already waits" in fake.wait_for("response", twice)[0].params["text"]
    assert "ada@example.com" not in emails(org)
    approve = buttons(card)["approval_approve"]
    _, key = slack.click(SAM, "approval_approve", approve)
    assert "Imported 2 users (2 active)." in fake.wait_for("response", key)[0].params["text"]
    assert {"ada@example.com", "bob@example.com"} <= set(emails(org))


def test_other_messages_are_acked_and_ignored(org, slack, fake):
    fake.add_file("F1", "people.csv", CSV)
    base = {"type": "message", "channel_type": "im", "channel": "DU0SAM", "user": SAM,
            "ts": "1.0", "files": [{"id": "F1"}]}
    ignored = [{**base, "subtype": None, "text": "hello"},
               {**base, "subtype": "file_share", "channel_type": "channel", "channel": "C1"},
               {**base, "subtype": "file_share", "bot_id": "B2"},
               {**base, "subtype": "message_changed"}]
    for event in ignored:
        assert shared_files(event) == []
        assert slack.event(event).status == 200  # acked, never a 404 that Slack retries
    assert shared_files({**base, "subtype": "file_share"}) == ["F1"]
    share(slack, SAM, "F1")  # then one that counts: the only answer
    answer(fake, f"D{SAM}")
    assert len(fake.called("files.info")) == 1


def test_users_import_says_how(org, slack, fake):
    text = reply(slack, fake, "/users", "import")["text"]
    assert "drop a CSV file into your direct message with Rollcall" in text
    assert "`email`, `first_name`, `last_name`" in text and "dry run" in text
