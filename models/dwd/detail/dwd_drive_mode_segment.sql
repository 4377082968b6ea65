-- Maximal runs of pose samples of one vehicle and day with the same drive mode, road type, site, route and
-- software version (a pose gap longer than pose_max_gap_s also ends a segment): time and distance per mode.
-- Segment starts are flagged in dwd_pose_sample; a running count numbers them.
with samples as (
    select * from {{ ref('dwd_pose_sample') }}
    where {{ in_run_period('dt') }}
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
        any_value(vehicle_class) as vehicle_class,
        any_value(drive_mode) as drive_mode,
        any_value(road_type) as road_type,
        any_value(site_id) as site_id,
        any_value(city) as city,
        any_value(route_id) as route_id,
        any_value(version) as version,
        min(ts) as ts_start,
        max(ts) as ts_end,
        count(*) as n_samples,
        {{ exact_sum('sample_s') }} as duration_s,
        {{ exact_sum('distance_m') }} as distance_m
    from numbered
    group by dt, vehicle_id, segment_no
)

select
    {{ hashed_id('seg_', ['vehicle_id', 'epoch_ms(ts_start)']) }} as segment_id,
    dt,
    vehicle_id,
    vehicle_class,
    drive_mode,
    road_type,
    site_id,
    city,
    route_id,
    version,
    ts_start,
    ts_end,
    n_samples,
    duration_s,
    distance_m
from segments
