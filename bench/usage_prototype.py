"""A prototype of `store.usage.cycle_usage` for the benchmark (NOT used by the bot).

Same results, different shape. The shipped query runs `LEAD()` over every state event of
the whole history before the cycle's end and then a second window (`max() OVER`) and a
GROUP BY; on SQLite that window over all history is most of the cost. Here:

- the state at the cycle's start is one index seek per user on `ix_audit_states`
  (`ORDER BY at DESC, id DESC LIMIT 1`), so history before the cycle is never windowed;
- `LEAD()` runs only over that row plus the events inside the cycle;
- one GROUP BY does the per-user fold: the top level and when it was first and last held
  come from `min((9 - level) || start)` and `max(level || stop)` (levels are one digit and
  instants sort as text on SQLite), so the second window disappears.

SQLite only (string instants, `||`, `max(a, b)` as a scalar); a PostgreSQL version would
use `DISTINCT ON` / `LATERAL` for the state at the start and the same single GROUP BY.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from billing.cycles import Cycle
from billing.model import Level
from billing.usage import Usage
from store.types import UTCDateTime

SQL = text("""
WITH events AS (
  SELECT uid, at, status_after, level_after, effective_after,
         lead(at) OVER (PARTITION BY uid ORDER BY at, id) AS next_at
  FROM (
    SELECT e.subject_user_id AS uid, e.at, e.id, e.status_after, e.level_after,
           e.effective_after
    FROM users AS u JOIN audit_events AS e ON e.id = (
      SELECT x.id FROM audit_events AS x
      WHERE x.subject_user_id = u.id AND x.status_after IS NOT NULL AND x.at < :start
      ORDER BY x.at DESC, x.id DESC LIMIT 1)
    UNION ALL
    SELECT subject_user_id, at, id, status_after, level_after, effective_after
    FROM audit_events
    WHERE status_after IS NOT NULL AND at >= :start AND at < :end
  )
), held AS (
  SELECT uid,
         CASE WHEN at < :start THEN :start ELSE at END AS start,
         coalesce(next_at, :end) AS stop,
         status_after = 'active' AS active,
         (status_after = 'active') * max(level_after, effective_after) AS level,
         next_at IS NULL AS is_last
  FROM events
  WHERE next_at IS NULL OR (next_at > :start AND next_at > at)
), per_user AS (
  SELECT uid,
         max(is_last * active) AS active_at_end,
         min(CASE WHEN active THEN start END) AS active_from,
         min(CASE WHEN level > 0 THEN (9 - level) || start END) AS level_first,
         max(CASE WHEN level > 0 THEN level || stop END) AS level_last
  FROM held GROUP BY uid HAVING max(active) = 1
)
SELECT users.id, users.email, users.first_name, users.last_name, per_user.active_at_end,
       per_user.active_from, 9 - CAST(substr(level_first, 1, 1) AS INTEGER),
       substr(level_first, 2), substr(level_last, 2)
FROM per_user JOIN users ON users.id = per_user.uid
""").bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))

_INSTANT = UTCDateTime()


def _instant(value: object):
    return _INSTANT.process_result_value(value, None)  # type: ignore[arg-type]


def cycle_usage(session: Session, cycle: Cycle) -> Iterator[tuple[int, str, str, Usage]]:
    """Drop-in for `store.usage.cycle_usage` (same rows, same `Usage` values)."""
    result = session.execute(SQL.execution_options(yield_per=5000),
                             {"start": cycle.start, "end": cycle.end})
    for uid, email, first, last, at_end, active_from, level, level_from, level_until in result:
        level = level or 0
        until = _instant(level_until) if level else None
        yield uid, email, f"{first} {last}", Usage(
            active_any_time=True,
            active_at_end=bool(at_end),
            active_days=0,
            active_from=_instant(active_from),
            level=Level(level),
            level_from=_instant(level_from) if level else None,
            level_until=until if until != cycle.end else None,
        )
