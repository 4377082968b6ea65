"""Matching seconds into clips: per vehicle, seconds whose padded spans touch or overlap merge into one clip
(gaps and islands in SQL). A clip covers the seconds ``clip_start .. clip_end`` (both included)."""

from __future__ import annotations

from dataclasses import dataclass

from fleetloop.mining.features import FILTER_COLUMNS

DEFAULT_PADDING_S = 2  # context kept before the first and after the last matching second of a clip


@dataclass(frozen=True)
class Padding:
    before_s: int = DEFAULT_PADDING_S
    after_s: int = DEFAULT_PADDING_S

    def __post_init__(self):
        if self.before_s < 0 or self.after_s < 0:
            raise ValueError("padding is zero or more seconds")

    @property
    def join_gap_s(self) -> int:
        """Largest step between two matching seconds of one clip: their padded spans touch."""
        return self.before_s + self.after_s + 1


DEFAULT_PADDING = Padding()
CLIP_COLUMNS = ("vehicle_id", "clip_start", "clip_end", "seconds", "matched_s") + FILTER_COLUMNS


def clips_sql(matched: str, padding: Padding) -> str:
    """A query over ``matched`` (vehicle_id, ts_s and the filter columns of the matching seconds) giving one row
    per clip: vehicle_id, clip_start, clip_end (UTC timestamps), seconds covered, matching seconds and the filter
    columns at the first matching second."""
    carried = ", ".join(f"arg_min({c}, ts_s) as {c}" for c in FILTER_COLUMNS)
    return f"""
select vehicle_id,
  to_timestamp(min(ts_s) - {padding.before_s}) as clip_start,
  to_timestamp(max(ts_s) + {padding.after_s}) as clip_end,
  max(ts_s) - min(ts_s) + {padding.before_s + padding.after_s + 1} as seconds,
  count(*) as matched_s,
  {carried}
from (
  select *, sum(starts_clip) over (partition by vehicle_id order by ts_s rows unbounded preceding) as clip_no
  from (
    select *, coalesce(ts_s - lag(ts_s) over (partition by vehicle_id order by ts_s) > {padding.join_gap_s}, true)
      ::INTEGER as starts_clip
    from {matched}
  )
)
group by vehicle_id, clip_no
order by vehicle_id, clip_start"""


def run_clips_sql(matched: str, span_table: str, padding: Padding) -> str:
    """``clips_sql`` over matching runs: ``matched`` has (span_id, start_s, end_s), disjoint runs of seconds.
    Ordered by a key of vehicle and second (``vehicle_no`` in the high 32 bits), so the windows need no partition
    and two vehicles are always further apart than a clip's gap."""
    key = "(p.vehicle_no::BIGINT << 32 | {}_s)"
    carried = ", ".join(f"arg_min({c}, start_key) as {c}" for c in FILTER_COLUMNS)
    return f"""
select vehicle_id,
  to_timestamp(min(start_s) - {padding.before_s}) as clip_start,
  to_timestamp(max(end_s) + {padding.after_s}) as clip_end,
  max(end_s) - min(start_s) + {padding.before_s + padding.after_s + 1} as seconds,
  sum(end_s - start_s + 1)::BIGINT as matched_s,
  {carried}
from (
  select *, sum(starts_clip) over (order by start_key rows unbounded preceding) as clip_no
  from (
    select p.vehicle_id, {', '.join(f'p.{c}' for c in FILTER_COLUMNS)}, m.start_s, m.end_s,
      {key.format('m.start')} as start_key,
      coalesce({key.format('m.start')} - lag({key.format('m.end')}) over (order by {key.format('m.start')})
        > {padding.join_gap_s}, true)::INTEGER as starts_clip
    from {matched} m join {span_table} p using (span_id)
  )
)
group by clip_no, vehicle_id
order by vehicle_id, clip_start"""
