"""The chart of the last cycles: people billed as stacked bars (users who are not admins,
then admins by level), the total as a line on a second axis in its currency, the current
cycle highlighted. A PNG for Slack's preview (1200x675 px), with alt text that states the
figures.

Two steps, so tests can check what is plotted without reading pixels: `chart_points` is a
pure function of invoice documents (the JSON of DESIGN section 7, final or draft), and
`render_png` draws those points. Drawing is deterministic (no timestamp or version in the
PNG's metadata), so regenerating a cycle's chart from its final invoices, as the outbox
does on a retry, gives the same file.

matplotlib is imported when a chart is drawn, not when this module is: commands and
requests that draw nothing do not pay its import. The Agg backend is selected before
anything else of matplotlib is used, and pyplot is never imported: its global figure
state is not thread-safe, and charts are drawn on Bolt's pool and the outbox's thread.
"""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.model import Level
from billing.money import format_money
from billing.wording import day_label, document_cycle_days, document_cycle_name
from bot.plural import count

CYCLES = 12
WIDTH, HEIGHT, DPI = 1200, 675, 100  # Slack previews images at 16:9
MIN_SLOTS = 6  # the x axis is at least this many cycles wide
ALT_LIMIT = 1000  # characters Slack keeps of a file's alt text

LEVELS = (Level.SUPER, Level.ASSISTANT, Level.VIEW_ONLY)
# Neutral, colour-blind-safe hues on an opaque white card, so the chart reads the same in
# Slack's light and dark themes: greys and blues for the people, one orange for money.
BACKGROUND, INK, GRID, HIGHLIGHT = "#ffffff", "#1f2328", "#d9dde3", "#fbe7b5"
COLOURS = {"users": "#9aa3ae", Level.SUPER: "#1b3a5c", Level.ASSISTANT: "#3f7cac",
           Level.VIEW_ONLY: "#9cc3e0"}
TOTAL = "#c8601a"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DRAWING = threading.Lock()  # matplotlib's font cache and text layout are shared state


@dataclass(frozen=True)
class Point:
    """One cycle as plotted: a bar of `users` (billed users who are not admins) topped by
    the billed admins of each level, and the total."""

    cycle_start: str  # ISO instant with the billing zone's offset, as in the JSON
    name: str  # the cycle named as people say it
    label: str  # the axis tick: `Feb\\n2025`, or `Feb 6\\n2025` for a cycle not on the 1st
    active_users: int  # the users line's seats (admins included)
    users: int  # seats of people who are not billed admins
    admins: Mapping[Level, int]  # billed admins by level, every level present
    total: Decimal
    currency: str
    final: bool  # False for the running cycle's estimate
    current: bool  # the cycle the chart is about: highlighted

    @property
    def admin_count(self) -> int:
        return sum(self.admins.values())

    @property
    def people(self) -> int:
        """The bar's height: everyone billed, once."""
        return self.users + self.admin_count


def chart_points(documents: Iterable[Mapping[str, Any]], limit: int = CYCLES) -> list[Point]:
    """The last `limit` cycles of `documents`, oldest first; the latest is the current one.

    Pure: the figures are the invoices' own (`active_users`, `users`, `admins`, `total`).
    Each document is reduced to its point as it comes, so an iterator of twelve
    100,000-user invoices never holds more than one of them.
    """
    points = sorted((_point(doc) for doc in documents),
                    key=lambda p: datetime.fromisoformat(p.cycle_start))[-limit:]
    return [*points[:-1], replace(points[-1], current=True)] if points else []


def _point(doc: Mapping[str, Any]) -> Point:
    admins = {level: 0 for level in LEVELS}
    for label, n in Counter(doc["admins"].values()).items():
        admins[Level.parse(label)] += n
    seated_admins = len(doc["admins"].keys() & set(doc["users"]))  # in C: 100,000 in ms
    users = len(doc["users"]) - seated_admins
    return Point(cycle_start=doc["cycle_start"], name=document_cycle_name(doc),
                 label=_tick(doc), active_users=int(doc["active_users"]), users=users,
                 admins=admins, total=Decimal(doc["total"]), currency=doc["currency"],
                 final=doc["status"] == "final", current=False)


def _tick(doc: Mapping[str, Any]) -> str:
    first, _ = document_cycle_days(doc)
    head = _MONTHS[first.month - 1] if first.day == 1 else day_label(first)
    return f"{head}\n{first.year}"


def figures(point: Point, *, levels: bool = True) -> str:
    """`42 active users, 3 admins (1 SUPER, 2 ASSISTANT), $1,234.00` (without the
    levels: `42 active users, 3 admins, $1,234.00`)."""
    by_level = ", ".join(f"{n:,} {level.title}" for level, n in point.admins.items() if n)
    admins = count(point.admin_count, "admin")
    if levels and by_level:
        admins += f" ({by_level})"
    users = count(point.active_users, "active user")
    money = format_money(point.total, point.currency)
    return f"{users}, {admins}, {money}{'' if point.final else ' so far'}"


def title(cycles: int) -> str:
    """`Billing, last 12 cycles`; fewer only while the organization is younger."""
    if cycles <= 1:
        return "Billing, the first cycle"
    return f"Billing, last {cycles} cycles" if cycles == CYCLES else f"Billing, all {cycles} cycles"


def alt_text(points: Sequence[Point]) -> str:
    """What the chart shows, for screen readers: the current cycle first, then each
    earlier cycle's figures, newest first, as many as Slack keeps."""
    if not points:
        return "No cycle to chart yet."
    current = points[-1]
    text = f"{title(len(points))}: this cycle, {current.name}: {figures(current)}."
    for point in reversed(points[:-1]):
        head, year = point.label.split("\n")  # `Feb 2025`, `Feb 6, 2025`
        when = f"{head}, {year}" if " " in head else f"{head} {year}"
        earlier = (f" {when}: {count(point.active_users, 'user')}, "
                   f"{count(point.admin_count, 'admin')}, "
                   f"{format_money(point.total, point.currency)}.")
        if len(text) + len(earlier) > ALT_LIMIT:
            break
        text += earlier
    return text


def render_png(points: Sequence[Point], *, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """The chart of `points` as PNG bytes, `width` x `height` pixels."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import rc_context

    with _DRAWING, rc_context({"text.parse_math": False,  # `$` is money, not TeX
                               "font.family": "DejaVu Sans", "font.size": 13}):
        return _draw(points, width, height)


def _draw(points: Sequence[Point], width: int, height: int) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor=BACKGROUND)
    ax = fig.add_axes((0.075, 0.14, 0.83, 0.62))
    money_ax = ax.twinx()
    xs = list(range(len(points)))
    for axis in (ax, money_ax):
        axis.set_facecolor("none")
        for side in ("top", "left", "right", "bottom"):
            axis.spines[side].set_visible(side == "bottom")
        axis.tick_params(colors=INK, length=0, labelsize=12)
    ax.set_zorder(money_ax.get_zorder() - 1)
    ax.patch.set_visible(False)
    ax.grid(axis="y", color=GRID, linewidth=1)
    ax.set_axisbelow(True)

    for x, point in zip(xs, points, strict=True):
        if point.current:
            ax.axvspan(x - 0.5, x + 0.5, color=HIGHLIGHT, zorder=0)
        bottom = 0
        for key, value in (("users", point.users), *((lv, point.admins[lv]) for lv in LEVELS)):
            if value:
                # an estimate is striped (the hatch takes the edge colour), the current
                # final cycle outlined, the others a little faded
                edge = BACKGROUND if not point.final or not point.current else INK
                ax.bar(x, value, bottom=bottom, width=0.62, color=COLOURS[key],
                       alpha=1 if point.current else 0.7, hatch=None if point.final else "//",
                       edgecolor=edge, linewidth=0.8, zorder=2)
            bottom += value
    pad = max(MIN_SLOTS - len(points), 0) / 2  # a young organization's bars stay bars
    ax.set_xlim(-0.5 - pad, len(points) - 0.5 + pad)
    ax.set_ylim(0, max([p.people for p in points] + [1]) * 1.18)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_ylabel("People billed", color=INK, fontsize=13)
    ax.set_xticks(xs, [p.label + ("\n(so far)" if not p.final else "") for p in points])
    for tick, point in zip(ax.get_xticklabels(), points, strict=True):
        tick.set_fontweight("bold" if point.current else "normal")

    currencies = list(dict.fromkeys(p.currency for p in points))
    runs: list[list[int]] = []  # one line per stretch of one currency: never joined
    for x, point in zip(xs, points, strict=True):
        if runs and points[runs[-1][-1]].currency == point.currency:
            runs[-1].append(x)
        else:
            runs.append([x])
    for run in runs:
        money_ax.plot(run, [float(points[x].total) for x in run], color=TOTAL, linewidth=2.5,
                      marker="o", markersize=6, zorder=4)
    if points:
        last = points[-1]
        money_ax.plot([xs[-1]], [float(last.total)], marker="o", markersize=11, color=TOTAL,
                      markeredgecolor=INK, zorder=5)
        # at the top of the highlighted band, clear of the bar and of the line
        money_ax.annotate(format_money(last.total, last.currency), (xs[-1], 0.985),
                          xycoords=("data", "axes fraction"), ha="center", va="top",
                          color=TOTAL, fontsize=13, fontweight="bold", zorder=5)
    money_ax.set_ylim(0, max([float(p.total) for p in points] + [1]) * 1.3)
    money_ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    money_ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    money_ax.set_ylabel(f"Total ({', '.join(currencies)})", color=TOTAL, fontsize=13)
    money_ax.tick_params(axis="y", colors=TOTAL)

    fig.text(0.075, 0.93, title(len(points)), fontsize=20, fontweight="bold", color=INK)
    if points:
        fig.text(0.075, 0.875, f"{points[-1].name}: {figures(points[-1], levels=False)}",
                 fontsize=14, color=INK)
    handles = [Patch(color=COLOURS["users"], label="Users (not admins)"),
               *(Patch(color=COLOURS[lv], label=lv.title) for lv in LEVELS),
               _line_handle(f"Total ({', '.join(currencies)})")]
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.068, 0.855), ncols=5,
               frameon=False, fontsize=12, labelcolor=INK, handlelength=1.6)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, facecolor=BACKGROUND,
                metadata={"Software": None})  # no version stamp: same points, same bytes
    return out.getvalue()


def _line_handle(label: str) -> Any:
    from matplotlib.lines import Line2D

    return Line2D([], [], color=TOTAL, linewidth=2.5, marker="o", label=label)


def warm_up() -> None:
    """Import matplotlib and load its fonts now (about a second on a small machine), so
    the first chart of a long-running process, often the first close after a restart,
    does not pay for it. The scheduler calls it on a thread of its own when it starts."""
    render_png([])

