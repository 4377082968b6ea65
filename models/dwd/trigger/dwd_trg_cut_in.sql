-- cut_in: an agent enters the ego lane just ahead. From the 1 Hz perception_summary: at a second whose
-- previous summary is exactly 1 s earlier, a lead object is within max_gap_m, the lead is new (none the second
-- before, or the previous lead was more than min_gap_drop_m farther: no lead closes that fast), an object of
-- the lead's class was already counted within tracked_radius_m the second before (it came from beside, it did
-- not just come into view), and it moves in faster than the ego by min_rel_speed_mps (an overtaking merge).
-- One event per such second. Why these observables: the summary carries no track ids or lateral positions, so
-- "entering the lane" is read as a new, close lead that was already tracked nearby.
with params as (
    {{ trigger_params('cut_in', ['max_gap_m', 'min_gap_drop_m', 'tracked_radius_m', 'min_rel_speed_mps',
                                 'severity']) }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id from {{ ref('dwd_vehicle') }}
),

summary as (
    select *
    from {{ source('ods', 'ods_perception_summary') }}
    where {{ around_run_day('ts', 'dt') }}
),

counts as (
    select
        vehicle_id,
        ts,
        regexp_extract(count_column, '^n_([a-z]+)_([0-9]+)m$', 1) as object_class,
        regexp_extract(count_column, '^n_([a-z]+)_([0-9]+)m$', 2)::double as radius_m,
        n_objects
    from (
        unpivot (select vehicle_id, ts, columns('^n_[a-z]+_[0-9]+m$') from summary)
        on columns('^n_[a-z]+_[0-9]+m$') into name count_column value n_objects
    )
),

sequenced as (
    select
        s.vehicle_id,
        s.ts,
        s.lead_class,
        s.lead_gap_m,
        s.lead_rel_speed_mps,
        lag(s.ts) over w as prev_ts,
        lag(s.lead_gap_m) over w as prev_lead_gap_m,
        coalesce(v.vehicle_class, '*') as vehicle_class,
        v.site_id
    from summary as s
    left join vehicles as v on s.vehicle_id = v.vehicle_id
    window w as (partition by s.vehicle_id order by s.ts)
),

candidates as (
    select q.*, p.* exclude (vehicle_class)
    from sequenced as q
    inner join params as p using (vehicle_class)
    where
        q.lead_class is not null
        and q.lead_gap_m <= p.max_gap_m
        and q.lead_rel_speed_mps >= p.min_rel_speed_mps
        and q.prev_ts = q.ts - interval 1 second
        and (q.prev_lead_gap_m is null or q.prev_lead_gap_m - q.lead_gap_m > p.min_gap_drop_m)
),

tracked as (
    select c.*
    from candidates as c
    inner join counts as n
        on c.vehicle_id = n.vehicle_id
        and c.prev_ts = n.ts
        and c.lead_class = n.object_class
        and c.tracked_radius_m = n.radius_m
    where n.n_objects >= 1
)

select
    {{ event_id("'cut_in'", 'vehicle_id', 'site_id', 'ts') }} as event_id,
    {{ utc_date('ts') }} as dt,
    vehicle_id,
    site_id,
    'cut_in' as trigger,
    ts as ts_start,
    ts as ts_end,
    severity::integer as severity,
    json_object(
        'dt', {{ utc_date('ts') }}::varchar,
        'lead_class', lead_class,
        'lead_gap_m', lead_gap_m,
        'lead_rel_speed_mps', lead_rel_speed_mps
    ) as attributes
from tracked
where {{ on_run_day('ts', utc_date('ts')) }}
