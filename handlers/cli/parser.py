"""The `rollcall` command line grammar (DESIGN section 7). argparse exits 2 on bad usage."""

from __future__ import annotations

import argparse
from datetime import date

LEVELS = ("super", "assistant", "view-only")
STATUSES = ("active", "pending", "deactivated")
LISTED = ("all", *STATUSES, "deleted")  # `users list --status`: all live users by default


def _actor(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "--actor", required=required, metavar="EMAIL",
        help="the acting admin; their permissions apply" + ("" if required else
             " (optional: without it the operator sees everything)"),
    )


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def build_parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="rollcall", description="Rollcall: seats and admins.")
    top = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = top.add_parser("init", help="create the schema, the organization and its first SUPER")
    init.add_argument("--org-name", required=True)
    init.add_argument("--admin-email", required=True)
    init.add_argument("--admin-first-name", required=True)
    init.add_argument("--admin-last-name", required=True)
    init.add_argument("--admin-slack-user-id")

    top.add_parser("serve", help="run the Slack app (HTTP, or Socket Mode with SLACK_APP_TOKEN)")
    clock = top.add_parser("clock", help="run the scheduler alone")
    clock.add_argument("--once", action="store_true", help="run what is due now, then exit")

    db = top.add_parser("db", help="database maintenance").add_subparsers(
        dest="db_command", required=True, metavar="ACTION")
    db.add_parser("upgrade", help="apply pending migrations")
    db.add_parser("check", help="compare billing's state periods with the audit history")
    db.add_parser("rebuild-periods", help="fold the state periods again from the audit")

    projects = top.add_parser("projects", help="projects").add_subparsers(
        dest="projects_command", required=True, metavar="ACTION")
    add = projects.add_parser("add", help="add a project")
    add.add_argument("key")
    add.add_argument("name")
    _actor(add)
    plist = projects.add_parser("list", help="list projects: keys, names, members")
    _json(plist)
    _actor(plist, required=False)

    users = top.add_parser("users", help="users").add_subparsers(
        dest="users_command", required=True, metavar="ACTION")
    new = users.add_parser("add", help="create a user (active unless --inactive)")
    new.add_argument("--email", required=True)
    new.add_argument("--first-name", required=True)
    new.add_argument("--last-name", required=True)
    new.add_argument("--inactive", action="store_true", help="create as pending")
    new.add_argument("--project", action="append", default=[], metavar="KEY")
    _actor(new)
    for name in ("activate", "deactivate", "delete"):
        cmd = users.add_parser(name, help=f"{name} a user")
        cmd.add_argument("email")
        _actor(cmd)
        if name != "activate":
            cmd.add_argument("--remove-admin", action="store_true",
                             help="remove the user's admin role in the same step")
    login = users.add_parser("login", help="record a login (applies pending admin changes)")
    login.add_argument("email")
    listing = users.add_parser("list", help="list users")
    listing.add_argument("--status", choices=LISTED, default="all",
                         help="one status, `all` live users (the default) or `deleted` ones")
    _json(listing)
    _actor(listing, required=False)
    imp = users.add_parser("import", help="import users from a CSV file, all or nothing")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="check every row, change nothing")
    imp.add_argument("--update", action="store_true",
                     help="change existing users whose row differs (else left alone)")
    _json(imp)
    _actor(imp)
    export = users.add_parser("export", help="write users as CSV to stdout")
    _actor(export, required=False)

    admins = top.add_parser("admins", help="admin roles").add_subparsers(
        dest="admins_command", required=True, metavar="ACTION")
    aset = admins.add_parser("set", help="set an admin's level and scope")
    aset.add_argument("email")
    aset.add_argument("level", choices=LEVELS)
    aset.add_argument("--projects", default="all", metavar="all|KEY,KEY")
    aset.add_argument("--dry-run", action="store_true",
                      help="show the cost hint only; change nothing")
    aset.add_argument("--at-cycle-end", action="store_true",
                      help="apply it when the running cycle ends (at once, not pending)")
    _actor(aset)
    for name, text in (("remove", "remove an admin role"), ("apply", "apply a pending change now")):
        cmd = admins.add_parser(name, help=text)
        cmd.add_argument("email")
        _actor(cmd)
    alist = admins.add_parser("list", help="list admins")
    _json(alist)
    _actor(alist, required=False)
    sched = admins.add_parser("scheduled", help="list changes scheduled for the cycle end")
    _json(sched)
    _actor(sched, required=False)
    cancel = admins.add_parser("cancel", help="cancel a person's change scheduled for the "
                                              "cycle end")
    cancel.add_argument("email")
    _actor(cancel)
    approvals = top.add_parser("approvals", help="the approval policy").add_subparsers(
        dest="approvals_command", required=True, metavar="ACTION")
    pol = approvals.add_parser("policy", help="when a second SUPER must approve, and expiry")
    pol.add_argument("--cost-threshold", metavar="AMOUNT|off",
                     help="changes raising this cycle's invoice by more need two SUPERs")
    pol.add_argument("--expiry-hours", type=int, metavar="N")
    pol.add_argument("--seat-approval", choices=("on", "off"),
                     help="an ASSISTANT's new active users and activations need a SUPER")
    _actor(pol)

    scim = top.add_parser("scim", help="the identity provider's SCIM 2.0 access").add_subparsers(
        dest="scim_command", required=True, metavar="ACTION")
    tokens = scim.add_parser("token", help="the directory's bearer tokens").add_subparsers(
        dest="token_command", required=True, metavar="ACTION")
    create = tokens.add_parser("create", help="a new token, printed once (SUPER, all projects)")
    create.add_argument("--name", required=True, help="a name to tell tokens apart")
    _actor(create)
    tlist = tokens.add_parser("list", help="the tokens' names, creators and last use")
    _json(tlist)
    revoke = tokens.add_parser("revoke", help="revoke a token (SUPER, all projects)")
    revoke.add_argument("name")
    _actor(revoke)

    billing = top.add_parser("billing", help="billing settings and invoices").add_subparsers(
        dest="billing_command", required=True, metavar="ACTION")
    conf = billing.add_parser("configure", help="change billing settings (SUPER, all projects)")
    conf.add_argument("--timezone", metavar="TZ", help="IANA time zone, e.g. Europe/Paris")
    conf.add_argument("--cycle", choices=("monthly", "fixed-30"))
    conf.add_argument("--anchor", type=_date, metavar="DATE")
    conf.add_argument("--currency", metavar="C")
    conf.add_argument("--user-price", metavar="P")
    conf.add_argument("--admin-price", action="append", default=[], metavar="LEVEL=P",
                      help="repeat per level, e.g. --admin-price super=50.00")
    conf.add_argument("--user-policy", choices=("any-time", "end-of-cycle", "prorated"))
    _actor(conf)
    preview = billing.add_parser("preview", help="the running cycle's estimate")
    _json(preview)
    _actor(preview, required=False)
    inv = billing.add_parser("invoice", help="the invoice of the cycle containing DATE")
    inv.add_argument("--cycle", type=_date, required=True, metavar="DATE")
    shape = inv.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print JSON")
    shape.add_argument("--csv", action="store_true",
                       help="print CSV: the lines, then every billed user and admin")
    _actor(inv, required=False)
    chart = billing.add_parser("chart", help="write the chart of the last 12 cycles (PNG)")
    chart.add_argument("--out", default="rollcall-chart.png", metavar="FILE.png",
                       help="where to write it (default: rollcall-chart.png here)")
    _actor(chart, required=False)
    invs = billing.add_parser("invoices", help="final invoices and the running draft")
    _json(invs)
    _actor(invs, required=False)
    billing.add_parser("close", help="finalize every ended cycle")
    shown = billing.add_parser("settings", help="the billing settings and their history; "
                                                "changes nothing")
    _json(shown)
    _actor(shown, required=False)
    return root


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-03-01") from None
