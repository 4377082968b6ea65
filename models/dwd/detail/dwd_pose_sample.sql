-- 10 Hz pose reduced to what distance and time need: the time and distance each sample stands for, its drive
-- mode and route, and the heartbeat's dimensions at that moment (road type, site, city, software version,
-- class) joined as of the sample. Kept narrow on purpose: the as-of join and the lags sort every sample, and
-- the pose triggers read the ODS pose directly, filtered to their candidate samples first.
-- sample_s: time since the previous sample (one period after a gap longer than pose_max_gap_s);
-- distance_m: trapezoid of speed over sample_s (speed x one period after a long gap);
-- is_segment_start: the sample opens a drive-mode segment (first of the day, after a long gap, or a change
-- of day, drive mode, road type, site, route or version, compared as one hash); all lags share one sort.
with pose as (
    select dt, vehicle_id, ts, speed_mps, drive_mode, task_status, route_id
    from {{ source('ods', 'ods_pose') }}
    where {{ around_run_day('ts', 'dt') }}
),

heartbeat as (
    select vehicle_id, ts, road_type, site_id, city, version, vehicle_class
    from {{ ref('dwd_heartbeat') }}
    where {{ around_run_day('ts', 'dt') }}
),

dimensioned as (
    select
        p.*,
        epoch_us(p.ts) as ts_us,
        h.road_type,
        h.site_id,
        h.city,
        h.version,
        h.vehicle_class
    from pose as p
    asof left join heartbeat as h
        on p.vehicle_id = h.vehicle_id and p.ts >= h.ts
),

sampled as (
    select
        *,
        (ts_us - lag(ts_us) over w) / 1e6 as gap_s,
        lag(speed_mps) over w as prev_speed_mps,
        lag(dimension_hash) over w is distinct from dimension_hash as is_dimension_change
    from (
        select *, hash(ts_us // 86400000000, drive_mode, road_type, site_id, route_id, version) as dimension_hash
        from dimensioned
    )
    window w as (partition by vehicle_id order by ts_us)
),

measured as (
    select
        *,
        gap_s is not null and gap_s <= {{ var('pose_max_gap_s') }} as is_continuous
    from sampled
    where {{ on_run_day('ts', 'dt') }}
)

select
    {{ utc_date('ts') }} as dt,
    vehicle_id,
    ts,
    speed_mps,
    lower(drive_mode) as drive_mode,
    lower(task_status) as task_status,
    route_id,
    case when is_continuous then gap_s else {{ var('sample_period_s') }} end as sample_s,
    case
        when is_continuous then (speed_mps + prev_speed_mps) / 2 * gap_s
        else speed_mps * {{ var('sample_period_s') }}
    end as distance_m,
    is_dimension_change or not is_continuous as is_segment_start,
    road_type,
    site_id,
    city,
    version,
    vehicle_class
from measured
