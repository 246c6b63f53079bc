"""The chart of the last cycles on demand (`/billing history`, `rollcall billing chart`):
the last final invoices and the running cycle's estimate, this one highlighted, for any
admin who may read invoices (the same check as `invoice_on`)."""

from __future__ import annotations

from datetime import datetime
from itertools import chain

from bot import charts
from bot.services.billing import invoice_on
from bot.services.billing_files import Upload, chart_upload, final_documents_until
from bot.services.context import Context
from bot.services.transactions import reading


def history_points(ctx: Context, *, actor: str | None = None) -> list[charts.Point]:
    """The last cycles as the chart's points, oldest first: the final invoices (reduced
    one at a time), then the running cycle's estimate, the current one. With `actor`, an
    admin who may read invoices."""
    running = invoice_on(ctx, actor=actor).document  # checks the actor, as every read
    with reading(ctx) as session:
        finals = final_documents_until(session, datetime.fromisoformat(running["cycle_start"]),
                                       limit=charts.CYCLES - 1)
        return charts.chart_points(chain(finals, [running]))


def history_chart(ctx: Context, *, actor: str | None = None) -> Upload:
    """The chart of the last cycles, this one's estimate highlighted."""
    return chart_upload(history_points(ctx, actor=actor))
