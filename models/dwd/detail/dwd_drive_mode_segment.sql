-- Maximal runs of pose samples of one vehicle and day with the same drive mode, road type, site, route and
-- software version (a pose gap longer than pose_max_gap_s also ends a segment): time and distance per mode.
-- Segment starts are flagged in dwd_pose_sample; a running count numbers them. The heartbeat's dimensions
-- (site, city, version, class) are joined per segment, after the sort and the grouping: the samples carry only
-- the heartbeat in force, and site and version are the same for every sample of a segment (they are part of
-- the segment's hash), so the segment's first heartbeat stands for all of them.
with samples as (
    select * from {{ ref('dwd_pose_sample') }}
    where {{ in_run_period('dt') }}
),

heartbeat as (
    select vehicle_id, ts, site_id, city, version, vehicle_class
    from {{ ref('dwd_heartbeat') }}
    where {{ around_run_day('ts', 'dt') }}
),

numbered as (
    select
        *,
        sum(is_segment_start::integer) over (partition by vehicle_id order by ts rows unbounded preceding) as segment_no
    from samples
),

segments as (
    select
        dt,
        vehicle_id,
        segment_no,
        any_value(drive_mode) as drive_mode,
        any_value(road_type) as road_type,
        any_value(route_id) as route_id,
        min(heartbeat_ts) as heartbeat_ts,
        min(ts) as ts_start,
        max(ts) as ts_end,
        count(*) as n_samples,
        {{ exact_sum('sample_s') }} as duration_s,
        {{ exact_sum('distance_m') }} as distance_m
    from numbered
    group by dt, vehicle_id, segment_no
)

select
    {{ hashed_id('seg_', ['s.vehicle_id', epoch_ms('s.ts_start')]) }} as segment_id,
    s.dt,
    s.vehicle_id,
    h.vehicle_class,
    s.drive_mode,
    s.road_type,
    h.site_id,
    h.city,
    s.route_id,
    h.version,
    s.ts_start,
    s.ts_end,
    s.n_samples,
    s.duration_s,
    s.distance_m
from segments as s
left join heartbeat as h
    on s.vehicle_id = h.vehicle_id
    and s.heartbeat_ts = h.ts
