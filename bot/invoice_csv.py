"""An invoice as a CSV file a spreadsheet opens: three sections, each with its own header
row and a blank row between them.

1. the invoice: its cycle (named, and its ISO instants), status, currency and total;
2. its lines, as the invoice JSON has them (quantity, unit price, per_days for a prorated
   line, amount), then a `Total` row;
3. every billed person, one row each: email, whether they take a seat on the users line,
   and the admin level billed (empty for a user who is not a billed admin). The users
   line's seats first, in the invoice's order, then billed admins without a seat (an
   admin not active at the end of an `end-of-cycle` cycle).

A pure function of the invoice JSON, which for a final invoice never changes: a retried
upload sends the same bytes. Every cell goes through `bot.csv_cells` (as `users export`),
so a name in a line's description that a spreadsheet would run as a formula is text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from billing.wording import document_cycle_name
from bot.csv_cells import csv_text

INVOICE_COLUMNS = ("invoice", "cycle_start", "cycle_end", "status", "currency", "total")
LINE_COLUMNS = ("description", "quantity", "unit_price", "per_days", "amount")
PEOPLE_COLUMNS = ("email", "seat", "admin_level")


def invoice_csv(doc: Mapping[str, Any]) -> str:
    """The invoice JSON `doc` as CSV text (`\\n` line ends)."""
    return csv_text(_rows(doc))


def _rows(doc: Mapping[str, Any]) -> Iterator[Sequence[object]]:
    yield INVOICE_COLUMNS
    yield (document_cycle_name(doc), doc["cycle_start"], doc["cycle_end"], doc["status"],
           doc["currency"], doc["total"])
    yield ()
    yield LINE_COLUMNS
    for line in doc["lines"]:
        yield (line["description"], line["quantity"], line["unit_price"],
               line.get("per_days"), line["amount"])
    yield ("Total", None, None, None, doc["total"])
    yield ()
    yield PEOPLE_COLUMNS
    admins: Mapping[str, str] = doc["admins"]
    seated = set()
    for email in doc["users"]:
        seated.add(email)
        yield (email, "yes", admins.get(email))
    for email, level in sorted(admins.items()):
        if email not in seated:
            yield (email, "no", level)


def filename(doc: Mapping[str, Any]) -> str:
    """`rollcall-invoice-2025-02-01.csv`: the cycle's first local day."""
    return f"rollcall-invoice-{doc['cycle_start'][:10]}.csv"
