"""Progress of long commands (`users import`, `db check`, `db rebuild-periods`).

On a terminal a tqdm bar (on stderr); when stdout is not a terminal (a pipe, a file, CI)
plain lines on stderr at every tenth of the work, so a log shows it moving; with `--json`
nothing, so the output stays one JSON document. The services report `(done, total)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Report = Callable[[int, int], None]


class Progress:
    def __init__(self, out: TextIO, err: TextIO, *, quiet: bool = False) -> None:
        self.out, self.err, self.quiet = out, err, quiet

    @contextmanager
    def task(self, label: str, unit: str = "rows") -> Iterator[Report | None]:
        """A reporter for one piece of work, or None when nothing is to be shown."""
        if self.quiet:
            yield None
        elif _is_terminal(self.out):
            with _bar(label, unit, self.err) as report:
                yield report
        else:
            yield _lines(label, unit, self.err)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or odd stream: no terminal
        return False


@contextmanager
def _bar(label: str, unit: str, err: TextIO) -> Iterator[Report]:
    from tqdm import tqdm

    with tqdm(desc=label, unit=f" {unit}", file=err, unit_scale=True, leave=True) as bar:
        def report(done: int, total: int) -> None:
            if bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        yield report


def _lines(label: str, unit: str, err: TextIO) -> Report:
    shown = -1  # the last tenth printed

    def report(done: int, total: int) -> None:
        nonlocal shown
        tenth = 10 if total <= 0 else min(10, done * 10 // total)
        if tenth > shown:
            shown = tenth
            print(f"{label}: {done:,} of {total:,} {unit} ({tenth * 10}%)", file=err,
                  flush=True)

    return report
