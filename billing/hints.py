"""Cost hints: what a proposed change does to this cycle's and the next cycle's bill.

The hint runs the very rules of `compute_invoice` on the user's history with and without
the change, so a hint can never disagree with the invoice it predicts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from billing.cycles import Cycle, require_aware
from billing.invoice import compute_invoice
from billing.model import Change, State
from billing.terms import Terms
from billing.usage import History


def level_change_effect(
    cycle: Cycle, terms: Terms, history: History, new_state: State, at: datetime
) -> tuple[Decimal, Decimal]:
    """`(this_cycle_delta, next_cycle_delta)` of moving the user to `new_state` at `at`.

    `at` lies in `[cycle.start, cycle.end]`; `at == cycle.end` is a change scheduled for
    the cycle's end. The next cycle assumes no further change. With prorated users the
    real line is rounded once for everyone, so it may differ from this hint by one minor
    unit.
    """
    if not cycle.start <= require_aware(at) <= cycle.end:
        raise ValueError("A cost hint is for a change within the cycle or at its end.")
    seq = max((change.seq for change in history.changes if change.at == at), default=-1) + 1
    changed = replace(history, changes=(*history.changes, Change(at, seq, new_state)))
    # From the end of this cycle on the state no longer changes, so the next cycle bills
    # the same for any length: a stand-in as long as this one avoids needing the rule.
    following = Cycle(cycle.end, cycle.end + (cycle.end - cycle.start))
    return (
        _total(cycle, terms, changed) - _total(cycle, terms, history),
        _total(following, terms, changed) - _total(following, terms, history),
    )


def _total(cycle: Cycle, terms: Terms, history: History) -> Decimal:
    return compute_invoice(cycle, terms, [history]).total
