-- 10 Hz pose reduced to what distance and time need: the time and distance each sample stands for, whether it
-- opens a drive-mode segment, its drive mode, route and road type, and the heartbeat in force (heartbeat_ts: its
-- site, city, software version and class are one lookup away in dwd_heartbeat; dwd_drive_mode_segment joins them
-- per segment). Kept narrow on purpose: the window sorts keys, numbers and three short strings, and the table
-- holds only what its reader uses (the pose triggers read the ODS pose directly).
-- As-of join as an equi-join: each heartbeat stands for [ts, next heartbeat's ts) (at most day_margin_s after
-- the vehicle's last one) and is listed under every epoch second that interval touches (one or two at 1 Hz);
-- a sample joins the heartbeats of its vehicle and second and keeps the one whose interval holds it.
-- road_type: the heartbeat's when it is at most 1 s old; in a heartbeat gap the vehicle drives on, so the
-- road type comes from its position on the lane map (dwd_lane_cell), the heartbeat's when off the map.
-- sample_s: time since the previous sample (one period after a gap longer than pose_max_gap_s);
-- distance_m: trapezoid of speed over sample_s (speed x one period after a long gap);
-- is_segment_start: the sample opens a drive-mode segment (first of the day, after a long gap, or a change
-- of day, drive mode, road type, site, route or version, compared as one hash); all lags share one sort.
with pose as (
    select dt, vehicle_id, ts, {{ epoch_us('ts') }} as ts_us, x_m, y_m, speed_mps, drive_mode, route_id
    from {{ source('ods', 'ods_pose') }}
    where {{ around_run_day('ts', 'dt') }}
),

heartbeat as (
    select vehicle_id, ts, road_type, site_id, version
    from {{ ref('dwd_heartbeat') }}
    where {{ around_run_day('ts', 'dt') }}
),

lane_cells as (
    select site_id, cell_x, cell_y, road_type from {{ ref('dwd_lane_cell') }}
),

heartbeat_intervals as (
    select
        *,
        {{ epoch_us('ts') }} as from_us,
        coalesce(
            {{ epoch_us('lead(ts) over (partition by vehicle_id order by ts)') }},
            {{ epoch_us('ts') }} + ({{ definition('run', 'day_margin_s') }} * 1000000)::bigint
        ) as until_us
    from heartbeat
),

heartbeat_seconds as (
    select
        *,
        {{ unnest_list(int_range(int_div('from_us', '1000000'), int_div('(until_us - 1)', '1000000') ~ ' + 1')) }}
            as ts_s
    from heartbeat_intervals
),

joined as (
    select
        p.*,
        h.ts as heartbeat_ts,
        h.road_type as heartbeat_road_type,
        h.site_id,
        h.version,
        p.ts_us - h.from_us > 1000000 as is_heartbeat_stale
    from pose as p
    left join heartbeat_seconds as h
        on p.vehicle_id = h.vehicle_id
        and {{ int_div('p.ts_us', '1000000') }} = h.ts_s
        and p.ts_us >= h.from_us
        and p.ts_us < h.until_us
),

dimensioned as (
    select
        j.*,
        case when j.is_heartbeat_stale then coalesce(c.road_type, j.heartbeat_road_type) else j.heartbeat_road_type end
            as road_type
    from joined as j
    left join lane_cells as c
        on j.site_id = c.site_id
        and c.cell_x = case when j.is_heartbeat_stale then {{ lane_cell('j.x_m') }} end
        and c.cell_y = case when j.is_heartbeat_stale then {{ lane_cell('j.y_m') }} end
),

-- what the window sorts: keys, numbers, the dimensions as one hash, and the three strings the table keeps
keyed as (
    select
        dt,
        vehicle_id,
        ts,
        speed_mps,
        drive_mode,
        route_id,
        road_type,
        heartbeat_ts,
        {{ row_hash([int_div('ts_us', '86400000000'), 'drive_mode', 'road_type', 'site_id', 'route_id', 'version']) }}
            as dimension_hash
    from dimensioned
),

sampled as (
    select
        *,
        {{ seconds_between('lag(ts) over w', 'ts') }} as gap_s,
        lag(speed_mps) over w as prev_speed_mps,
        coalesce(lag(dimension_hash) over w != dimension_hash, true) as is_dimension_change
    from keyed
    window w as (partition by vehicle_id order by ts)
),

measured as (
    select
        *,
        gap_s is not null and gap_s <= {{ definition('run', 'pose_max_gap_s') }} as is_continuous
    from sampled
    where {{ on_run_day('ts', 'dt') }}
)

select
    {{ utc_date('ts') }} as dt,
    vehicle_id,
    ts,
    lower(drive_mode) as drive_mode,
    route_id,
    road_type,
    heartbeat_ts,
    case when is_continuous then gap_s else {{ definition('run', 'sample_period_s') }} end as sample_s,
    case
        when is_continuous then (speed_mps + prev_speed_mps) / 2 * gap_s
        else speed_mps * {{ definition('run', 'sample_period_s') }}
    end as distance_m,
    is_dimension_change or not is_continuous as is_segment_start
from measured
