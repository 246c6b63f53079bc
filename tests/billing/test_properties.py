"""Properties that hold for every input: cycles tile time, invoices ignore noise."""

import itertools
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from billing.cycles import CycleRule, cycle_containing, next_cycle, previous_cycle
from billing.invoice import History, Terms, UserPolicy, compute_invoice
from billing.model import Change, Level, State, Status
from billing.money import format_money, round_money
from billing.schedule import CycleSchedule

ZONES = [
    "UTC", "America/New_York", "Europe/Paris", "America/Santiago", "America/Havana",
    "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Apia", "Asia/Kathmandu", "Europe/London",
    "America/Sao_Paulo", "Pacific/Chatham", "Africa/Casablanca", "Asia/Tehran",
    "America/St_Johns", "Antarctica/Troll",
]  # fmt: skip
TICK = timedelta(microseconds=1)
ADMIN_LEVELS = (Level.VIEW_ONLY, Level.ASSISTANT, Level.SUPER)

rules = st.builds(
    CycleRule,
    timezone=st.sampled_from(ZONES),
    kind=st.sampled_from(["monthly", "fixed-30"]),
    anchor=st.dates(date(1990, 1, 1), date(2060, 12, 31)),
)
instants = st.datetimes(datetime(1990, 1, 1), datetime(2065, 1, 1), timezones=st.just(UTC))


def starts_a_local_day(instant: datetime, zone: ZoneInfo) -> bool:
    return (instant - TICK).astimezone(zone).date() < instant.astimezone(zone).date()


@settings(max_examples=1000, deadline=None)
@given(rule=rules, instant=instants)
def test_cycles_tile_time(rule, instant):
    cycle = cycle_containing(rule, instant)
    assert cycle.start <= instant < cycle.end
    following, preceding = next_cycle(rule, cycle), previous_cycle(rule, cycle)
    assert following.start == cycle.end and preceding.end == cycle.start
    assert preceding.start < cycle.start < cycle.end < following.end
    assert cycle_containing(rule, cycle.end - TICK) == cycle
    assert starts_a_local_day(cycle.start, rule.zone)
    length = (cycle.end - cycle.start).total_seconds() / 86400
    assert (26 <= length <= 33) if rule.kind == "monthly" else (28 <= length <= 32)


@settings(max_examples=150, deadline=None)
@given(
    versions=st.lists(st.tuples(instants, rules), min_size=1, max_size=4),
    start=instants,
    days=st.integers(1, 800),
)
def test_schedules_tile_time(versions, start, days):
    schedule = CycleSchedule(versions)
    end = start + timedelta(days=days)
    cycles = schedule.cycles_between(start, end)
    assert cycles[0].start <= start and cycles[-1].end >= end
    for earlier, later in itertools.pairwise(cycles):
        assert earlier.end == later.start
    for cycle in cycles:
        assert schedule.cycle_containing(cycle.start) == cycle
        assert schedule.cycle_containing(cycle.end - TICK) == cycle


# Invoices: one month in a DST zone, instants drawn from a few so that many coincide.
CYCLE_RULE = CycleRule("Europe/Paris", "monthly", date(2025, 1, 1))
CYCLE = cycle_containing(CYCLE_RULE, datetime(2025, 3, 15, tzinfo=UTC))
MOMENTS = [
    CYCLE.start - timedelta(days=3),
    CYCLE.start,
    CYCLE.start + timedelta(hours=5),
    datetime(2025, 3, 10, 9, tzinfo=UTC),
    datetime(2025, 3, 30, 1, tzinfo=UTC),  # the DST change
    CYCLE.end - TICK,
    CYCLE.end,
]
states = st.builds(State, st.sampled_from(Status), st.sampled_from(Level), st.sampled_from(Level))
befores = st.none() | states


@st.composite
def histories(draw):
    count = draw(st.integers(1, 4))
    people = []
    for number in range(count):
        moments = draw(st.lists(st.sampled_from(MOMENTS), max_size=6))
        changes = [Change(at, seq, draw(states)) for seq, at in enumerate(sorted(moments))]
        people.append(
            History(f"user{number}@example.com", f"User {number}", draw(befores), changes)
        )
    return people


terms = st.builds(
    Terms,
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
    user_price=st.decimals("0", "999.999", places=3),
    # Prices rise with the level, as a real price list does: an upgrade then never saves.
    admin_prices=st.lists(st.decimals("0", "99", places=2), min_size=3, max_size=3).map(
        lambda prices: dict(zip(ADMIN_LEVELS, sorted(prices), strict=True))
    ),
    user_policy=st.sampled_from(UserPolicy),
    timezone=st.just("Europe/Paris"),
)


@settings(max_examples=300, deadline=None)
@given(people=histories(), terms=terms, seed=st.integers(0, 2**16))
def test_order_and_duplicates_change_no_invoice(people, terms, seed):
    shuffle = random.Random(seed).shuffle
    invoice = compute_invoice(CYCLE, terms, people)
    assert invoice.total == sum(line.amount for line in invoice.lines)
    noisy = []
    for person in people:
        changes = list(person.changes) * 2  # every change duplicated
        shuffle(changes)
        noisy.append(replace(person, changes=changes))
    shuffle(noisy)
    assert compute_invoice(CYCLE, terms, iter(noisy)) == invoice


@settings(max_examples=300, deadline=None)
@given(
    people=histories(),
    terms=terms,
    who=st.integers(0, 3),
    when=st.sampled_from(MOMENTS[1:-1]),
    raise_to=st.sampled_from(Level),
)
def test_an_upgrade_never_lowers_the_bill(people, terms, who, when, raise_to):
    person = people[who % len(people)]
    held = [c for c in sorted(person.changes, key=lambda c: (c.at, c.seq)) if c.at <= when]
    now = held[-1].state if held else person.before
    assume(now is not None and raise_to > now.assigned)
    upgrade = Change(
        when, max((c.seq for c in person.changes), default=0) + 1, replace(now, assigned=raise_to)
    )
    upgraded = [replace(p, changes=[*p.changes, upgrade]) if p is person else p for p in people]
    before = compute_invoice(CYCLE, terms, people).total
    assert compute_invoice(CYCLE, terms, upgraded).total >= before


@settings(max_examples=100, deadline=None)
@given(
    amount=st.floats(allow_nan=True, allow_infinity=True), currency=st.sampled_from(["USD", "JPY"])
)
def test_money_never_takes_floats(amount, currency):
    for call in (round_money, format_money):
        try:
            call(amount, currency)
        except TypeError:
            continue
        raise AssertionError(f"{call.__name__} accepted the float {amount!r}")


@settings(max_examples=100, deadline=None)
@given(
    amount=st.decimals(
        allow_nan=False, allow_infinity=False, places=6, min_value=-(10**9), max_value=10**9
    )
)
def test_rounding_moves_at_most_half_a_minor_unit(amount):
    assert abs(round_money(amount, "USD") - amount) <= Decimal("0.005")
