-- Maximal runs of pose samples of one vehicle and day with the same drive mode, road type, site, route and
-- software version (a pose gap longer than pose_max_gap_s also ends a segment): time and distance per mode.
-- Segment starts are flagged in dwd_pose_sample; a running count numbers them (the window sorts keys and
-- numbers only). Drive mode, road type and route are the segment's first sample's, and the heartbeat's
-- dimensions (site, city, version, class) are joined per segment, after the sort and the grouping: all of
-- them are part of the segment's hash, so they are the same for every sample of a segment, and its first
-- sample and first heartbeat stand for all of them.
with samples as (
    select vehicle_id, ts, heartbeat_ts, sample_s, distance_m, is_segment_start
    from {{ ref('dwd_pose_sample') }}
    where {{ in_run_period('dt') }}
),

-- the first sample of each segment, read apart (a second reader of samples would materialise it whole)
starts as (
    select dt, vehicle_id, ts, drive_mode, road_type, route_id
    from {{ ref('dwd_pose_sample') }}
    where {{ in_run_period('dt') }} and is_segment_start
),

heartbeat as (
    select vehicle_id, ts, site_id, city, version, vehicle_class
    from {{ ref('dwd_heartbeat') }}
    where {{ around_run_day('ts', 'dt') }}
),

numbered as (
    select
        vehicle_id,
        ts,
        heartbeat_ts,
        sample_s,
        distance_m,
        sum(is_segment_start::integer) over (partition by vehicle_id order by ts rows unbounded preceding) as segment_no
    from samples
),

measured as (
    select
        vehicle_id,
        segment_no,
        min(heartbeat_ts) as heartbeat_ts,
        min(ts) as ts_start,
        max(ts) as ts_end,
        count(*) as n_samples,
        {{ exact_sum('sample_s') }} as duration_s,
        {{ exact_sum('distance_m') }} as distance_m
    from numbered
    group by vehicle_id, segment_no
),

segments as (
    select
        st.dt,
        m.vehicle_id,
        st.drive_mode,
        st.road_type,
        st.route_id,
        m.heartbeat_ts,
        m.ts_start,
        m.ts_end,
        m.n_samples,
        m.duration_s,
        m.distance_m
    from measured as m
    inner join starts as st
        on m.vehicle_id = st.vehicle_id
        and m.ts_start = st.ts
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
