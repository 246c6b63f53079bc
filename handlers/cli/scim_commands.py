"""`rollcall scim token create|list|revoke`: the identity provider's bearer tokens
(DESIGN section 10). `create` prints the token alone on its last line, once: Rollcall
keeps only its hash, so it is shown nowhere else."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from bot.services import Context, Via
from bot.services.directory import create_token, list_tokens, revoke_token
from handlers.cli.tables import table


def create(args: argparse.Namespace, ctx: Context) -> str:
    token = create_token(ctx, actor=args.actor, via=Via.CLI, name=args.name)
    return (f"SCIM token {args.name.strip()} created; the directory acts as {args.actor}. "
            "Put it in the identity provider now (Authorization: Bearer TOKEN): Rollcall "
            "keeps only its hash and cannot show it again.\n" + token)


def listing(args: argparse.Namespace, ctx: Context) -> str:
    tokens = list_tokens(ctx)
    if args.json:
        return json.dumps([{"name": t.name, "created_by": t.created_by,
                            "created_at": _iso(t.created_at),
                            "last_used_at": _iso(t.last_used_at),
                            "revoked_at": _iso(t.revoked_at)} for t in tokens], indent=2)
    if not tokens:
        return ("There are no SCIM tokens. A SUPER admin over all projects creates one: "
                "`rollcall scim token create --name NAME --actor EMAIL`.")
    return table(("NAME", "CREATED BY", "CREATED", "LAST USED", "REVOKED"), [
        (t.name, t.created_by, _when(t.created_at), _when(t.last_used_at) or "never",
         _when(t.revoked_at) or "-") for t in tokens])


def revoke(args: argparse.Namespace, ctx: Context) -> str:
    return revoke_token(ctx, actor=args.actor, via=Via.CLI, name=args.name)


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at else ""


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


ACTIONS = {"create": create, "list": listing, "revoke": revoke}


def token(args: argparse.Namespace, ctx: Context) -> str:
    return ACTIONS[args.token_command](args, ctx)


HANDLERS = {("scim", "token"): token}
