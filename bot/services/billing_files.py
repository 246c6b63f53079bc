"""The files that go with each cycle summary: the chart of the last cycles (bot/charts.py)
and the invoice as CSV (bot/invoice_csv.py).

`summary_files` names them as outbox rows, recorded with the summary when a cycle closes
(`billing.close_due_cycles`); `summary_upload` draws one when the outbox sends it, from
the final invoices, which never change: a retry uploads the same bytes, and the outbox
row keeps a few words instead of a PNG or a 100,000-row CSV. The chart on demand is
`billing_history.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.wording import document_cycle_name
from bot import charts
from bot.errors import NotFound
from bot.invoice_csv import filename, invoice_csv
from bot.services.context import Context
from bot.services.transactions import reading
from store.models import Invoice as InvoiceRow

CHART_NAME = "rollcall-chart.png"
UPLOAD = "files.upload"  # an outbox method: a file sent with files_upload_v2 (bot/outbox.py)


@dataclass(frozen=True)
class Upload:
    """A file to upload: its name, bytes, title, and alt text (images)."""

    filename: str
    content: bytes
    title: str
    alt_text: str | None = None


def summary_files(cycle_start: str) -> list[tuple[str, dict[str, Any]]]:
    """The files that follow a cycle's summary post, as `(outbox key, payload)` in their
    order: the chart, then the invoice as CSV. Each waits until the row before it is sent
    (`after`, bot/outbox.py). The payload names the file, never its bytes."""
    return [(f"summary-chart:{cycle_start}", {"upload": "chart", "cycle_start": cycle_start,
                                              "after": f"summary:{cycle_start}"}),
            (f"summary-csv:{cycle_start}", {"upload": "invoice_csv", "cycle_start": cycle_start,
                                            "after": f"summary-chart:{cycle_start}"})]


def final_documents_until(session: Session, start: datetime,
                          limit: int = charts.CYCLES) -> Iterator[dict[str, Any]]:
    """The final invoices of the `limit` cycles up to the one starting at `start`, newest
    first, fetched one at a time (a 100,000-user invoice is megabytes of JSON)."""
    return iter(session.scalars(
        select(InvoiceRow.document).where(InvoiceRow.cycle_start <= start)
        .order_by(InvoiceRow.cycle_start.desc()).limit(limit)
        .execution_options(yield_per=1)))


def chart_upload(points: list[charts.Point]) -> Upload:
    name = f"rollcall-chart-{points[-1].cycle_start[:10]}.png" if points else CHART_NAME
    return Upload(name, charts.render_png(points), charts.title(len(points)),
                  charts.alt_text(points))


def csv_upload(doc: dict[str, Any]) -> Upload:
    return Upload(filename(doc), invoice_csv(doc).encode(),
                  f"Invoice, {document_cycle_name(doc)}")


def summary_upload(ctx: Context, payload: dict[str, Any]) -> Upload:
    """The file an outbox row of `summary_files` names, drawn from the final invoices."""
    kind, start = payload["upload"], datetime.fromisoformat(payload["cycle_start"])
    if kind not in ("chart", "invoice_csv"):
        raise NotFound(f"Rollcall has no file called {kind!r}.")
    with reading(ctx) as session:
        if kind == "chart":
            points = charts.chart_points(final_documents_until(session, start))
            latest = points[-1].cycle_start if points else None
        else:
            doc = next(final_documents_until(session, start, limit=1), None)
            latest = doc and doc["cycle_start"]
    if latest is None or datetime.fromisoformat(latest) != start:
        raise NotFound(f"No final invoice for the cycle starting {payload['cycle_start']}.")
    return chart_upload(points) if kind == "chart" else csv_upload(doc)
