"""The chart of the last cycles (bot/charts.py): the data handed to the plot equals the
invoices, the PNG decodes at Slack's preview size, and one rendering is compared with a
stored snapshot, with a tolerance."""

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from matplotlib.testing.compare import compare_images
from PIL import Image

from billing.model import Level
from bot import charts, services
from bot.services import Via
from bot.services import billing as billing_service
from bot.services import billing_store as bs
from bot.services.billing_history import history_points

SAM = "sam@example.com"
SNAPSHOT = Path(__file__).parent / "data" / "charts" / "twelve_cycles.png"


def invoice(month: int, users: int, admins: dict[str, str], total: str, *,
            status: str = "final", currency: str = "USD", year: int = 2025) -> dict:
    """An invoice document (DESIGN section 7) of a monthly cycle on the 1st."""
    end_year, end_month = (year + 1, 1) if month == 12 else (year, month + 1)
    emails = sorted({*(f"user{i:03d}@example.com" for i in range(users - len(admins))),
                     *admins})
    return {"cycle_start": f"{year}-{month:02d}-01T00:00:00+00:00",
            "cycle_end": f"{end_year}-{end_month:02d}-01T00:00:00+00:00",
            "status": status, "currency": currency, "active_users": len(emails),
            "users": emails, "admins": admins, "lines": [], "total": total}


ADMINS = {"ada@example.com": "super", "bo@example.com": "assistant",
          "cy@example.com": "assistant", "di@example.com": "view-only"}


def year_of_invoices() -> list[dict]:
    docs = []
    for month in range(1, 13):
        admins = dict(ADMINS) if month < 7 else {**ADMINS, "ed@example.com": "super"}
        users = 30 + 3 * month
        total = users * 10 + sum({"super": 50, "assistant": 30, "view-only": 10}[lv]
                                 for lv in admins.values())
        docs.append(invoice(month, users, admins, f"{total}.00"))
    return docs


def test_the_points_are_the_invoices_figures():
    docs = year_of_invoices()
    points = charts.chart_points(reversed(docs))  # any order in, oldest first out
    assert [p.cycle_start for p in points] == [d["cycle_start"] for d in docs]
    for point, doc in zip(points, docs, strict=True):
        assert point.active_users == doc["active_users"]
        assert point.total == Decimal(doc["total"]) and point.currency == "USD"
        assert point.admin_count == len(doc["admins"])
        assert point.users == doc["active_users"] - len(doc["admins"])  # every admin seated
        assert point.people == doc["active_users"]
        assert {lv.label: n for lv, n in point.admins.items() if n} == {
            label: list(doc["admins"].values()).count(label)
            for label in set(doc["admins"].values())}
    assert [p.current for p in points] == [False] * 11 + [True]
    assert points[0].label == "Jan\n2025" and points[-1].name == "December 2025 (Dec 1 - Dec 31)"


def test_at_most_twelve_cycles_the_latest_current_and_fewer_when_younger():
    docs = [*year_of_invoices(), invoice(1, 50, ADMINS, "700.00", year=2026)]
    points = charts.chart_points(docs)
    assert len(points) == 12 and points[0].cycle_start.startswith("2025-02")
    assert points[-1].cycle_start.startswith("2026-01") and points[-1].current
    assert [p.current for p in charts.chart_points(docs[:2])] == [False, True]
    assert charts.chart_points([]) == []


def test_an_admin_without_a_seat_is_still_a_bar_segment():
    """end-of-cycle: an admin deactivated before the end is billed the level, no seat."""
    doc = invoice(3, 5, {"ada@example.com": "super"}, "100.00")
    doc["admins"]["gone@example.com"] = "assistant"
    point = charts.chart_points([doc])[0]
    assert (point.active_users, point.users, point.admin_count, point.people) == (5, 4, 2, 6)


def test_the_points_of_real_closed_cycles_equal_their_stored_invoices(ctx, clock):
    billing_service.configure_billing(ctx, actor=SAM, via=Via.CLI, anchor=date(2025, 1, 1),
                                      user_price="10", admin_prices={Level.SUPER: "50",
                                                                     Level.ASSISTANT: "30"})
    for month, email in ((2, "lee@example.com"), (3, "pat@example.com"),
                         (4, "kim@example.com")):
        clock.set(f"2025-{month:02d}-10T00:00:00Z")
        services.create_user(ctx, actor=SAM, via=Via.CLI, email=email,
                             first_name=email[:3].title(), last_name="Test")
    services.set_admin(ctx, actor=SAM, via=Via.CLI, email="pat@example.com",
                       level=Level.ASSISTANT)
    clock.set("2025-05-02T00:00:00Z")
    billing_service.close_due_cycles(ctx, via=Via.CLI)
    with ctx.uow as uow:
        stored = bs.final_documents(uow.session)
    points = charts.chart_points(stored)
    # Acme since Feb 1: Feb (Sam, Lee), Mar (+Pat), Apr (+Kim; Pat ASSISTANT from Apr 10)
    assert [(p.users, dict(p.admins), p.total) for p in points] == [
        (1, {Level.SUPER: 1, Level.ASSISTANT: 0, Level.VIEW_ONLY: 0}, Decimal("70.00")),
        (2, {Level.SUPER: 1, Level.ASSISTANT: 0, Level.VIEW_ONLY: 0}, Decimal("80.00")),
        (2, {Level.SUPER: 1, Level.ASSISTANT: 1, Level.VIEW_ONLY: 0}, Decimal("120.00")),
    ]
    assert [p.active_users for p in points] == [d["active_users"] for d in stored]
    # on demand: the finals, then the running cycle's estimate, highlighted
    shown = history_points(ctx, actor=SAM)
    assert [p.final for p in shown] == [True] * 3 + [False] and shown[-1].current


def test_the_png_decodes_at_slacks_preview_size_opaque_and_the_same_every_time():
    points = charts.chart_points(year_of_invoices())
    png = charts.render_png(points)
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.size == (charts.WIDTH, charts.HEIGHT) == (1200, 675)
    assert image.convert("RGBA").getextrema()[3] == (255, 255)  # opaque: any theme
    assert charts.render_png(points) == png  # no timestamp: a retry uploads the same file


def test_a_young_organization_and_an_empty_history_still_draw():
    for docs in ([], [invoice(2, 1, {"sam@example.com": "super"}, "60.00", status="draft")]):
        image = Image.open(io.BytesIO(charts.render_png(charts.chart_points(docs))))
        assert image.size == (1200, 675)


def test_money_signs_are_text_not_tex():
    """Two `$` in one text would be read as mathtext without `text.parse_math` off."""
    docs = [invoice(1, 3, {}, "30.00"), invoice(2, 4, {}, "40.00", currency="EUR")]
    png = charts.render_png(charts.chart_points(docs))
    assert Image.open(io.BytesIO(png)).size == (1200, 675)


def test_the_alt_text_states_the_figures():
    points = charts.chart_points(year_of_invoices())
    alt = charts.alt_text(points)
    assert alt.startswith("Billing, last 12 cycles: this cycle, December 2025 (Dec 1 - Dec 31): "
                          "66 active users, 5 admins (2 SUPER, 2 ASSISTANT, 1 VIEW ONLY), "
                          "$830.00.")
    assert "Jan 2025: 33 users, 4 admins, $450.00." in alt and len(alt) <= charts.ALT_LIMIT
    draft = charts.chart_points([invoice(2, 2, {}, "20.00", status="draft")])
    assert charts.alt_text(draft) == ("Billing, the first cycle: this cycle, February 2025 "
                                      "(Feb 1 - Feb 28): 2 active users, 0 admins, $20.00 "
                                      "so far.")


def test_the_rendering_matches_its_snapshot(tmp_path):
    """Pixels, with a tolerance (RMS over 0-255; one admin more in one bar moves it by
    about 1.7, a changed total by 14): fonts ship with matplotlib, so only a change of the
    drawing (or of matplotlib's own) moves this. To accept a deliberate change, delete the
    snapshot and run the test once: it writes a new one and fails; look at it."""
    actual = tmp_path / "actual.png"
    actual.write_bytes(charts.render_png(charts.chart_points(year_of_invoices())))
    if not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_bytes(actual.read_bytes())
        pytest.fail(f"wrote a new snapshot {SNAPSHOT}; look at it, then run again")
    assert compare_images(str(SNAPSHOT), str(actual), tol=1) is None
