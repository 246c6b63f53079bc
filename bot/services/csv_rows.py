"""Reading an import file into rows: the CSV format of README's "CSV import format".

A header row names the columns: `email`, `first_name`, `last_name` (required), `projects`
and `status` (optional). Where the meaning is plain the file is taken as it is: columns in
another spelling or case (`First Name`, `E-mail`, `Surname`), cells separated by `;` or a
tab instead of `,` (told apart by the header alone, never guessed from the data), blank
rows, a byte order mark. Where it is not, the sentence says what to do: an empty file,
a missing column, a column named twice, a header row repeated inside the file. Problems
are numbered by the file's line, as a spreadsheet shows it (the header is row 1).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from billing.model import Status
from bot.csv_cells import restore
from bot.errors import InvalidInput
from bot.validation import clean_email, clean_name, clean_project_key

REQUIRED = ("email", "first_name", "last_name")
OPTIONAL = ("projects", "status")
MAX_ROWS = 100_000
IMPORT_STATUSES = ("active", "pending", "deactivated")
DELIMITERS = (",", ";", "\t")
HEADER = "email,first_name,last_name (and optionally projects,status)"
SYNONYMS = {
    "email": ("email", "e_mail", "email_address", "e_mail_address", "mail"),
    "first_name": ("first_name", "firstname", "first", "given_name", "givenname", "forename"),
    "last_name": ("last_name", "lastname", "last", "surname", "family_name", "familyname"),
    "projects": ("projects", "project", "project_keys", "project_key"),
    "status": ("status",),
}
_CANONICAL = {spelling: column for column, names in SYNONYMS.items() for spelling in names}


@dataclass(frozen=True)
class Row:
    number: int
    email: str
    first_name: str
    last_name: str
    projects: tuple[str, ...]
    status: Status


@dataclass
class CsvFile:
    rows: list[Row] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was taken as it is, said once


def canonical(name: str) -> str | None:
    """The column a header cell names, in any case, with spaces, `_`, `-` or `.`."""
    return _CANONICAL.get(re.sub(r"[\s_.\-]+", "_", name.strip().lower()).strip("_"))


def read_csv(data: bytes, max_rows: int = MAX_ROWS) -> CsvFile:
    """Decode and check each row's own fields (the store is not asked)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"The file is not UTF-8 text (byte {exc.start}); save it as "
                           "CSV UTF-8 and try again.") from exc
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    found = CsvFile()
    if delimiter != ",":
        found.notes.append(f"The cells are separated by {_NAMES[delimiter]}; read as such.")
    last = 0  # the line of the last row read whole
    try:
        header = next((cells for cells in reader if _filled(cells)), None)
        if header is None:
            raise InvalidInput(_empty())
        last = reader.line_num
        columns = _columns(header, found.notes)
        for cells in reader:
            last = reader.line_num
            if reader.line_num > max_rows + 1:
                raise InvalidInput(f"The CSV has more than {max_rows:,} rows; split it.")
            if not _filled(cells):
                continue  # a blank row (spreadsheets leave them at the end): nothing to do
            try:
                found.rows.append(_row(reader.line_num, cells, columns, len(header)))
            except InvalidInput as exc:
                found.problems.append((reader.line_num, str(exc)))
    except csv.Error as exc:
        # the row that could not be read starts after the last one read
        raise InvalidInput(f"Row {last + 1} is not valid CSV ({exc}); check its "
                           "quotes: a quoted cell must end with a quote.") from exc
    return found


def parse_csv(data: bytes, max_rows: int = MAX_ROWS) -> tuple[list[Row], list[tuple[int, str]]]:
    """The rows that parsed and the problems, as (row number, sentence)."""
    found = read_csv(data, max_rows)
    return found.rows, found.problems


_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}


def _filled(cells: Sequence[str]) -> bool:
    return any(c.strip() for c in cells)


def _empty() -> str:
    return f"The file is empty. Its first row must be the header: {HEADER}; then one row a user."


def _delimiter(text: str) -> str:
    """`,` unless the header names the required columns when cut at `;` or a tab."""
    first = next((line for line in text.splitlines() if line.strip(" \t,;")), "")
    for delimiter in DELIMITERS:
        cells = next(csv.reader([first], delimiter=delimiter), [])
        if set(REQUIRED) <= {canonical(c) for c in cells}:
            return delimiter
    return ","


def _columns(header: Sequence[str], notes: list[str]) -> dict[str, int]:
    """Where each known column is; unknown columns are ignored, and said so."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = canonical(cell)
        if name is None:
            if cell.strip():
                notes.append(f"The column {cell.strip()[:40]!r} is not one Rollcall reads, so "
                             f"it was ignored; the columns are {', '.join(REQUIRED + OPTIONAL)}.")
            continue
        if name in columns:
            raise InvalidInput(f"The header names the {name} column twice "
                               f"({header[columns[name]].strip()!r} and {cell.strip()!r}); "
                               "keep one of them.")
        columns[name] = index
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        looks_like_data = any("@" in c for c in header)
        hint = (" The first row holds data: add the header row above it." if looks_like_data
                else "")
        raise InvalidInput(f"The CSV has no {', '.join(missing)} column; its header row must "
                           f"name {', '.join(REQUIRED)} (and optionally "
                           f"{', '.join(OPTIONAL)}).{hint}")
    return columns


def _row(number: int, cells: Sequence[str], columns: dict[str, int], width: int) -> Row:
    if any(c.strip() for c in cells[width:]):
        raise InvalidInput("it has more cells than the header has columns.")

    def cell(column: str) -> str:  # as written before `export_csv` neutralised it
        index = columns.get(column)
        return restore(cells[index]) if index is not None and index < len(cells) else ""

    email = cell("email")
    if "@" not in email and canonical(email) == "email" and canonical(
            cell("first_name")) == "first_name":
        raise InvalidInput("it repeats the header row (two files pasted together?); remove "
                           "this row and import again.")
    status_text = (cell("status") or "active").strip().lower()
    if status_text not in IMPORT_STATUSES:
        allowed = ", ".join(IMPORT_STATUSES)
        raise InvalidInput(f"status {status_text[:20]!r} is not one of {allowed}.")
    projects = re.split(r"[;,\s]+", cell("projects").strip())
    return Row(
        number=number,
        email=clean_email(email),
        first_name=clean_name(cell("first_name"), "First name"),
        last_name=clean_name(cell("last_name"), "Last name"),
        projects=tuple(sorted({clean_project_key(p) for p in projects if p})),
        status=Status(status_text),
    )
