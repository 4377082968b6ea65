-- 10 Hz pose with the time and distance each sample stands for, and the heartbeat's dimensions at that
-- moment (road type, site, route, software version) joined as of the sample.
-- sample_s: time since the previous sample (one period after a gap longer than pose_max_gap_s);
-- distance_m: trapezoid of speed over sample_s (speed x one period after a long gap).
with pose as (
    select * from {{ source('ods', 'ods_pose') }}
    where {{ around_run_day('ts', 'dt') }}
),

heartbeat as (
    select vehicle_id, ts, road_type, site_id, city, version, vehicle_class
    from {{ ref('dwd_heartbeat') }}
    where {{ around_run_day('ts', 'dt') }}
),

sampled as (
    select
        *,
        {{ seconds_between('lag(ts) over w', 'ts') }} as gap_s,
        lag(speed_mps) over w as prev_speed_mps
    from pose
    window w as (partition by vehicle_id order by ts)
),

measured as (
    select
        *,
        gap_s is not null and gap_s <= {{ var('pose_max_gap_s') }} as is_continuous
    from sampled
    where {{ on_run_day('ts', 'dt') }}
)

select
    {{ utc_date('m.ts') }} as dt,
    m.vehicle_id,
    m.ts,
    m.x_m,
    m.y_m,
    m.speed_mps,
    m.acc_lon_mps2,
    m.acc_lat_mps2,
    m.heading_rad,
    m.yaw_rate_rps,
    lower(m.drive_mode) as drive_mode,
    lower(m.task_status) as task_status,
    m.task_id,
    m.route_id,
    m.is_emergency_brake,
    case when m.is_continuous then m.gap_s else {{ var('sample_period_s') }} end as sample_s,
    case
        when m.is_continuous then (m.speed_mps + m.prev_speed_mps) / 2 * m.gap_s
        else m.speed_mps * {{ var('sample_period_s') }}
    end as distance_m,
    h.road_type,
    h.site_id,
    h.city,
    h.version,
    h.vehicle_class
from measured as m
asof left join heartbeat as h
    on m.vehicle_id = h.vehicle_id and m.ts >= h.ts
