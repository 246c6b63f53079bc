"""An invoice as CSV (bot/invoice_csv.py), a pure function of its JSON: its totals are the
invoice's, every billed person is a row with the level billed, formulas are text."""

import csv
import io
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.csv_cells import csv_text, neutralise
from bot.invoice_csv import filename, invoice_csv

DOC = {
    "cycle_start": "2025-03-01T00:00:00+01:00", "cycle_end": "2025-04-01T00:00:00+02:00",
    "status": "final", "currency": "EUR", "active_users": 3,
    "users": ["+33@example.com", "ann@example.com", "bob@example.com"],
    "admins": {"ann@example.com": "super", "gone@example.com": "assistant"},
    "lines": [
        {"description": "Active users, prorated: 75 user-days (3 users) of a 31-day cycle",
         "quantity": 75, "unit_price": "10.00", "amount": "24.19", "per_days": 31},
        {"description": "=SUM(A1) Ray (ann@example.com): SUPER", "quantity": 1,
         "unit_price": "50.00", "amount": "50.00"},
        {"description": "Gus Hart (gone@example.com): ASSISTANT, held until Mar 20",
         "quantity": 1, "unit_price": "30.00", "amount": "30.00"},
    ],
    "total": "104.19",
}


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_lines_then_every_billed_person_with_the_level_billed():
    assert rows(invoice_csv(DOC)) == [
        ["invoice", "cycle_start", "cycle_end", "status", "currency", "total"],
        ["March 2025 (Mar 1 - Mar 31)", DOC["cycle_start"], DOC["cycle_end"], "final", "EUR",
         "104.19"],
        [],
        ["description", "quantity", "unit_price", "per_days", "amount"],
        ["Active users, prorated: 75 user-days (3 users) of a 31-day cycle", "75", "10.00",
         "31", "24.19"],
        ["'=SUM(A1) Ray (ann@example.com): SUPER", "1", "50.00", "", "50.00"],
        ["Gus Hart (gone@example.com): ASSISTANT, held until Mar 20", "1", "30.00", "",
         "30.00"],
        ["Total", "", "", "", "104.19"],
        [],
        ["email", "seat", "admin_level"],
        ["'+33@example.com", "yes", ""],
        ["ann@example.com", "yes", "super"],
        ["bob@example.com", "yes", ""],
        ["gone@example.com", "no", "assistant"],  # billed the level, no seat (end-of-cycle)
    ]
    assert filename(DOC) == "rollcall-invoice-2025-03-01.csv"


def test_the_totals_are_the_invoices():
    table = rows(invoice_csv(DOC))
    lines = table[4:7]
    assert sum(Decimal(r[4]) for r in lines) == Decimal(DOC["total"]) == Decimal(table[7][4])


@given(st.lists(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"])),
                         min_size=1, max_size=4), max_size=6))
def test_csv_text_writes_what_one_crlf_writer_per_row_wrote(table):
    """`csv_text` writes most rows with one LF writer (fast for 100,000 rows); the text is
    exactly what the earlier row-by-row CRLF writer gave."""
    out, reference = io.StringIO(), []
    writer = csv.writer(out, lineterminator="\r\n")
    for row in table:
        out.seek(0)
        out.truncate()
        writer.writerow([neutralise(c) for c in row])
        reference.append(out.getvalue().removesuffix("\r\n") + "\n")
    assert csv_text(table) == "".join(reference)
