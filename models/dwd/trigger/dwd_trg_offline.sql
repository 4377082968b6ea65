-- offline: a gap between consecutive heartbeats of a vehicle longer than gap_s while the earlier heartbeat
-- has an active task (dispatched, driving, waiting); ts_start = earlier heartbeat, ts_end = later one.
with params as (
    {{ trigger_params('offline', ['gap_s', 'severity']) }}
),

vehicles as (
    select vehicle_id, site_id from {{ ref('dwd_vehicle') }}
),

heartbeat as (
    select vehicle_id, ts, task_status, site_id, coalesce(vehicle_class, '*') as vehicle_class
    from {{ ref('dwd_heartbeat') }}
    where {{ around_run_day('ts', 'dt') }}
),

gaps as (
    select
        vehicle_id,
        vehicle_class,
        lag(ts) over w as ts_start,
        ts as ts_end,
        lag(task_status) over w as status_before
    from heartbeat
    window w as (partition by vehicle_id order by ts)
),

offline as (
    select gaps.*, params.gap_s, params.severity
    from gaps
    inner join params using (vehicle_class)
    where
        gaps.status_before in ('dispatched', 'driving', 'waiting')
        and {{ seconds_between('gaps.ts_start', 'gaps.ts_end') }} > params.gap_s
)

select
    {{ event_id("'offline'", 'o.vehicle_id', 'v.site_id', 'o.ts_start') }} as event_id,
    {{ utc_date('o.ts_start') }} as dt,
    o.vehicle_id,
    v.site_id,
    'offline' as trigger,
    o.ts_start,
    o.ts_end,
    o.severity::integer as severity,
    {{ json_object_of([
        ('dt', utc_date('o.ts_start') ~ '::string'),
        ('duration_s', seconds_between('o.ts_start', 'o.ts_end')),
        ('task_status', 'o.status_before')]) }} as attributes
from offline as o
left join vehicles as v on o.vehicle_id = v.vehicle_id
where {{ on_run_day('o.ts_start', utc_date('o.ts_start')) }}
