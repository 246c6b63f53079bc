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


def _formula_like(cell: str) -> bool:
    return cell.lstrip(_SKIPPED)[:1] in tuple(TRIGGERS)


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

    The writer ends rows with CRLF so that it quotes every cell holding a CR or an LF
    (it only quotes the line terminator's characters); each row's CRLF then becomes LF.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    lines = []
    for row in rows:
        out.seek(0)
        out.truncate()
        writer.writerow([neutralise("" if c is None else str(c)) for c in row])
        lines.append(out.getvalue().removesuffix("\r\n") + "\n")
    return "".join(lines)
