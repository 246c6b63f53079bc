"""Plain-text tables for the terminal, aligned by display width, not by characters.

A CJK character or an emoji takes two columns of a terminal, a combining accent none;
`wcwidth` knows which (grapheme by grapheme, so a family emoji joined by zero-width
joiners counts once). A cell longer than `MAX_CELL` columns is cut with an ellipsis, so
one long name does not push every other column off the screen; `--json` keeps the whole
value. Control characters (none should reach here: names refuse them) show as `?`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from wcwidth import iter_graphemes, width

MAX_CELL = 40
ELLIPSIS = "…"


def text_width(text: str) -> int:
    """The columns `text` takes on a terminal."""
    return max(0, width(text))


def clean(text: object) -> str:
    """A cell as one line of printable text."""
    return "".join("?" if unicodedata.category(ch) == "Cc" else ch for ch in str(text))


def clip(text: str, limit: int = MAX_CELL) -> str:
    """`text`, or as much of it as fits in `limit` columns with `…` at the end."""
    if text_width(text) <= limit:
        return text
    kept, used = [], 0
    for grapheme in iter_graphemes(text):
        size = text_width(grapheme)
        if used + size > limit - 1:
            break
        kept.append(grapheme)
        used += size
    return "".join(kept) + ELLIPSIS


def pad(text: str, columns: int) -> str:
    return text + " " * max(0, columns - text_width(text))


def table(header: Sequence[str], rows: Sequence[Sequence[object]],
          limit: int = MAX_CELL) -> str:
    """The header and the rows in columns two spaces apart, no trailing spaces."""
    cells = [[clip(clean(c), limit) for c in row] for row in [header, *rows]]
    widths = [max(text_width(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in cells)
