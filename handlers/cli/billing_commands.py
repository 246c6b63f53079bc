"""`rollcall billing ...`: settings, estimate, invoices, close."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from billing.cycles import zone_named
from billing.model import Level
from billing.money import currency_code, format_money, parse_price
from billing.wording import document_cycle_name, line_sum
from bot.errors import InvalidInput, UsageError
from bot.invoice_csv import invoice_csv
from bot.services import Context, Via
from bot.services import billing as service
from bot.services.billing_history import history_chart

OPTIONS = ("timezone", "cycle", "anchor", "currency", "user_price", "user_policy")


def _format(option: str, value: str, check: Callable[[str], object]) -> None:
    """An option's value must be well formed (the service checks it again, and what
    depends on stored settings, such as decimals for the currency); a malformed one is a
    usage error, exit 2, as argparse's own."""
    try:
        check(value)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"billing configure {option}: {exc}") from None


def configure(args: argparse.Namespace, ctx: Context) -> str:
    if not args.admin_price and all(getattr(args, name) is None for name in OPTIONS):
        raise UsageError("billing configure: say what to change, e.g. --user-price 10.00 "
                         "or --timezone UTC (rollcall billing configure --help lists them).")
    for option, value, check in (("--timezone", args.timezone, zone_named),
                                 ("--currency", args.currency, currency_code),
                                 ("--user-price", args.user_price, parse_price)):
        if value is not None:
            _format(option, value, check)
    prices: dict[Level, str] = {}
    for item in args.admin_price:
        level, sep, price = item.partition("=")
        try:
            parsed = Level.parse(level)
        except ValueError:
            parsed = Level.NONE
        if not sep or parsed is Level.NONE:
            raise UsageError(f"billing configure --admin-price {item!r}: write LEVEL=PRICE "
                             "with a level super, assistant or view-only, e.g. super=50.00.")
        _format("--admin-price", price, parse_price)
        prices[parsed] = price
    return service.configure_billing(
        ctx, actor=args.actor, via=Via.CLI, timezone=args.timezone, cycle=args.cycle,
        anchor=args.anchor, currency=args.currency, user_price=args.user_price,
        admin_prices=prices or None, user_policy=args.user_policy,
    )


def render(doc: dict[str, Any]) -> str:
    """An invoice as an admin reads it."""
    cur = doc["currency"]
    head = f"{doc['status'].upper()} invoice for {document_cycle_name(doc)}"
    def money(text: str) -> str:
        return format_money(Decimal(text), cur)

    lines = [f"  {ln['description']}: {line_sum(ln, money, 'x')}" for ln in doc["lines"]]
    return "\n".join([head, *lines, f"  Total: {format_money(Decimal(doc['total']), cur)}"])


def preview(args: argparse.Namespace, ctx: Context) -> str:
    view = service.invoice_on(ctx, actor=args.actor)
    if args.json:
        return json.dumps(view.document, indent=2)
    return render(view.document) + (f"\n{view.notice}" if view.notice else "")


def invoice(args: argparse.Namespace, ctx: Context) -> str:
    doc = service.invoice_on(ctx, day=args.cycle, actor=args.actor).document
    if args.csv:
        return invoice_csv(doc).rstrip("\n")
    return json.dumps(doc, indent=2) if args.json else render(doc)


def chart(args: argparse.Namespace, ctx: Context) -> str:
    """Write the chart of the last cycles (this one's estimate highlighted) as a PNG."""
    drawn = history_chart(ctx, actor=args.actor)
    path = Path(args.out).expanduser().resolve()
    try:
        path.write_bytes(drawn.content)
    except OSError as exc:
        raise InvalidInput(f"Could not write the chart to {path}: {exc.strerror or exc}.") \
            from exc
    return f"Wrote the chart to {path}.\n{drawn.alt_text}"


def invoices(args: argparse.Namespace, ctx: Context) -> str:
    docs = [v.document for v in service.invoices(ctx, actor=args.actor)]
    if args.json:
        return json.dumps(docs, indent=2)
    names = [document_cycle_name(d) for d in docs]  # ASCII: len is the display width
    width = max(map(len, names), default=0)
    return "\n".join(f"{name:<{width}}  {d['status']:<5}  {d['active_users']:>7} users"
                     f"  {format_money(Decimal(d['total']), d['currency'])}"
                     for name, d in zip(names, docs, strict=True))


def close(args: argparse.Namespace, ctx: Context) -> str:
    closed = service.close_due_cycles(ctx, via=Via.CLI)
    if not closed:
        return "No cycle is due; nothing to close."
    return "\n".join(f"Closed {document_cycle_name(v.document)}: "
                     f"{format_money(Decimal(v.document['total']), v.document['currency'])}"
                     for v in closed)


HANDLERS = {
    ("billing", "configure"): configure,
    ("billing", "preview"): preview,
    ("billing", "invoice"): invoice,
    ("billing", "invoices"): invoices,
    ("billing", "close"): close,
    ("billing", "chart"): chart,
}
