"""CSV cells that a spreadsheet will not run as formulas (CSV injection, OWASP).

Spreadsheets run a cell starting with `=`, `+`, `-`, `@`, tab or CR as a formula (OWASP's
list; NUL, which ASVS 1.2.10 adds, and LF are treated the same). Every CSV file Rollcall
writes for people goes through `csv_text`, whose `neutralise` prefixes such a cell with
one `'` (the spreadsheets' "this is text" marker; some show it); `restore` undoes it
exactly when the file comes back (`rollcall users import`).

The rule looks past the cell's leading quotes and spaces, so it is exact for every
string: `neutralise` adds one `'` when what follows the leading quotes and spaces starts
with a trigger, and `restore` removes one leading `'` in that same case only. A cell
that starts with `'` followed by a formula (`'=1`) therefore exports as `''=1` and
imports as `'=1`; a cell a spreadsheet saved again without its marker (`=1`) imports as
it reads. Leading spaces are looked past too, in case a spreadsheet trims them first.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

TRIGGERS = "=+-@\t\r\n\x00"
_SKIPPED = "' "  # must contain the marker, so a marked cell triggers the rule as well
MARKER = "'"
_TRIGGER_SET = frozenset(TRIGGERS)  # a set, not the string: "" is in every string


def _formula_like(cell: str) -> bool:
    first = cell[:1]
    if first in _TRIGGER_SET:
        return True
    return first in _SKIPPED and cell.lstrip(_SKIPPED)[:1] in _TRIGGER_SET


def neutralise(cell: str) -> str:
    """The cell as written to a CSV file: one `'` in front when it could run."""
    return MARKER + cell if _formula_like(cell) else cell


def restore(cell: str) -> str:
    """The cell as read from a CSV file `neutralise` wrote (its exact inverse)."""
    if cell.startswith(MARKER) and _formula_like(cell):
        return cell[len(MARKER):]
    return cell


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    """Rows as CSV text (`\\n` line ends), every cell neutralised; None is empty.

    A row with a CR or an LF in a cell is written by a writer ending rows with CRLF, so
    that it quotes every such cell (it only quotes the line terminator's characters), and
    its CRLF then becomes LF; every other row (nearly all) is written as it is, with LF,
    which quotes the same cells: one writer for them, so 100,000 rows take a fraction of
    a second (an invoice's CSV).
    """
    out = io.StringIO()
    plain = csv.writer(out, lineterminator="\n")
    one = io.StringIO()
    broken = csv.writer(one, lineterminator="\r\n")
    for row in rows:
        cells = [neutralise("" if c is None else str(c)) for c in row]
        joined = "".join(cells)
        if "\n" in joined or "\r" in joined:
            one.seek(0)
            one.truncate()
            broken.writerow(cells)
            out.write(one.getvalue().removesuffix("\r\n") + "\n")
        else:
            plain.writerow(cells)
    return out.getvalue()
