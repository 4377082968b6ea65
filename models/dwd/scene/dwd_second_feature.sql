-- The per-second feature table that the tag rules of seed tag_definitions are written over (its columns are
-- declared once, in fleetloop.mining.features): one row per driven vehicle-second, the seconds the perception
-- summary covers. Beside the summary: the vehicle's dimensions, drive mode and road type from the latest
-- heartbeat at or before the second; speed, longitudinal acceleration and yaw rate as means of the second's pose
-- samples; the map context at the position of its first pose sample (the nearest segment of the route's lanes,
-- dwd_lane_segment; the footprint of the vehicle class's length for crosswalks; lane_count: lanes of the route
-- within reach); weather and light as the vehicle labels them; a remote takeover session covering the second;
-- and one flag per trigger of seed trigger_catalog, set in every second an event of it spans (site-wide events:
-- every vehicle of the site; perception_suspect: the window of a perception-suspect case).
{%- set catalog, summary_source = ref('trigger_catalog'), source('ods', 'ods_perception_summary') %}
{%- set triggers, counts = [], [] %}
{%- if execute %}
    {%- set triggers = run_query('select trigger from ' ~ read_whole(catalog) ~ ' order by trigger')
        .columns[0].values() %}
    {#- the summary's counts per class and radius (n_<class>_<radius>m), in the source's order -#}
    {%- for column in adapter.get_columns_in_relation(summary_source)
        if modules.re.match('^n_[a-z]+_[0-9]+m$', column.name) %}
        {%- do counts.append(column.name) %}
    {%- endfor %}
{%- endif %}
with summary as (
    select *
    from {{ summary_source }}
    where {{ on_run_day('ts', 'dt') }}
),

summary_keys as (
    select vehicle_id, ts, {{ whole_epoch_s('ts') }} as ts_s
    from {{ summary_source }}
    where {{ on_run_day('ts', 'dt') }}
),

environment as (
    select vehicle_id, {{ whole_epoch_s('ts') }} as ts_s, weather, light
    from {{ source('ods', 'ods_environment') }}
    where {{ on_run_day('ts', 'dt') }}
),

heartbeat as (
    select vehicle_id, ts, site_id, route_id, version, vehicle_class, drive_mode, road_type
    from {{ ref('dwd_heartbeat') }}
    where {{ around_run_day('ts', 'dt') }}
),

pose as (
    select
        vehicle_id,
        {{ int_div(epoch_us('ts'), 1000000) }} as ts_s,
        avg(speed_mps) as speed_mps,
        avg(acc_lon_mps2) as acc_lon_mps2,
        avg(yaw_rate_rps) as yaw_rate_rps,
        {{ value_at_min('x_m', 'ts') }} as x_m,
        {{ value_at_min('y_m', 'ts') }} as y_m
    from {{ source('ods', 'ods_pose') }}
    where {{ on_run_day('ts', 'dt') }}
    group by all
),

vehicle_classes as (
    select vehicle_class, length_m from {{ ref('vehicle_classes') }}
),

segments as (
    select
        site_id, route_id, cell_x, cell_y, lane_id, seq, x_m, y_m, next_x_m, next_y_m, length_m, reach_m, crosswalk,
        s0_m
    from {{ ref('dwd_lane_segment') }}
),

-- one row per segment (the one under the cell of its first point): what the nearest segment tells the second
segment_context as (
    select
        lane_id, seq, successors, x_m, y_m, next_x_m, next_y_m, length_m, s0_m, junction_id, junction_signalised,
        merge, turn
    from {{ ref('dwd_lane_segment') }}
    where cell_x = {{ lane_cell('x_m') }} and cell_y = {{ lane_cell('y_m') }}
),

-- narrow (keys, dimensions, pose numbers): it feeds four joins and a window; the summary's own columns join last
seconds as (
    select
        s.vehicle_id,
        s.ts,
        s.ts_s,
        h.site_id,
        h.route_id,
        h.version,
        h.vehicle_class,
        h.drive_mode,
        h.road_type,
        p.speed_mps,
        p.acc_lon_mps2,
        p.yaw_rate_rps,
        p.x_m,
        p.y_m
    from summary_keys as s
    {{ asof_left_join('heartbeat', 'h', 's.vehicle_id', 'vehicle_id', 's.ts') }}
    left join pose as p
        on s.vehicle_id = p.vehicle_id and s.ts_s = p.ts_s
),

-- every segment near the second's position (narrow: keys and geometry; five per second on average)
projected as (
    select
        f.vehicle_id,
        f.ts_s,
        f.x_m,
        f.y_m,
        g.lane_id,
        g.seq,
        g.x_m as from_x_m,
        g.y_m as from_y_m,
        g.next_x_m,
        g.next_y_m,
        g.reach_m,
        ((f.x_m - g.x_m) * (g.next_x_m - g.x_m) + (f.y_m - g.y_m) * (g.next_y_m - g.y_m))
        / nullif(pow(g.length_m, 2), 0) as raw_t
    from seconds as f
    inner join segments as g
        on f.site_id = g.site_id
        and f.route_id = g.route_id
        and g.cell_x = {{ lane_cell('f.x_m') }}
        and g.cell_y = {{ lane_cell('f.y_m') }}
),

distanced as (
    select
        *,
        raw_t >= 0 and raw_t < 1 as is_within,
        sqrt(
            pow(x_m - (from_x_m + t * (next_x_m - from_x_m)), 2) + pow(y_m - (from_y_m + t * (next_y_m - from_y_m)), 2)
        ) as distance_m
    from (select *, greatest(0, least(1, raw_t)) as t from projected) as clamped
),

-- the nearest segment (ties: the first lane, then the first segment along it) and the lanes within reach (a set
-- per second: a few lanes each, cheaper than a distinct count's hash aggregate over every segment row)
nearest as (
    select
        vehicle_id,
        ts_s,
        min({{ struct_of([('distance_m', 'distance_m'), ('lane_id', 'lane_id'), ('seq', 'seq'), ('t', 't')]) }})
            as segment,
        {{ list_length(sorted_set_agg('case when distance_m <= reach_m and is_within then lane_id end')) }}
            as lane_count
    from distanced
    group by vehicle_id, ts_s
),

-- per second: its nearest segment's context and the lane change since the previous second (a window over
-- these few columns, not over the whole feature row); n.segment.* are struct fields (noqa: RF01)
lane_context as (
    select
        f.vehicle_id,
        f.ts_s,
        f.vehicle_class,
        n.lane_count,
        g.lane_id,
        g.junction_id,
        g.junction_signalised,
        g.merge,
        g.turn,
        g.s0_m + n.segment.t * g.length_m as along_m,  -- noqa: RF01
        case
            when f.ts_s - lag(f.ts_s) over w != 1 or lag(g.lane_id) over w is null then 'none'
            when
                g.lane_id = lag(g.lane_id) over w or {{ list_has('lag(g.successors) over w', 'g.lane_id') }}
                then 'none'
            when
                (g.next_x_m - g.x_m) * (f.y_m - lag(f.y_m) over w)
                - (g.next_y_m - g.y_m) * (f.x_m - lag(f.x_m) over w) > 0 then 'left'
            else 'right'
        end as lane_change
    from seconds as f
    left join nearest as n on f.vehicle_id = n.vehicle_id and f.ts_s = n.ts_s
    left join segment_context as g
        on n.segment.lane_id = g.lane_id and n.segment.seq = g.seq  -- noqa: RF01
    window w as (partition by f.vehicle_id order by f.ts_s)
),

crosswalks as (
    select distinct lane_id, s0_m, s0_m + length_m as s1_m
    from segments
    where crosswalk
),

on_crosswalk as (
    select distinct n.vehicle_id, n.ts_s
    from lane_context as n
    inner join vehicle_classes as v on n.vehicle_class = v.vehicle_class
    inner join crosswalks as c
        on n.lane_id = c.lane_id
        and c.s0_m < n.along_m + v.length_m / 2
        and c.s1_m > n.along_m - v.length_m / 2
),

remote_sessions as (
    select distinct
        vehicle_id, {{ unnest_list(int_range(whole_epoch_s('ts_start'), whole_epoch_s('ts_end') ~ ' + 1')) }} as ts_s
    from {{ ref('dwd_takeover') }}
    where {{ around_run_day('ts_start', 'dt') }}
),

firings as (
    select
        e.vehicle_id, e.site_id, e.trigger,
        {{ unnest_list(int_range(whole_epoch_s('e.ts_start'), whole_epoch_s('e.ts_end') ~ ' + 1')) }} as ts_s
    from {{ ref('dwd_event') }} as e
    where {{ around_run_day('e.ts_start', 'e.dt') }}
    union all
    select
        c.vehicle_id, c.site_id, 'perception_suspect' as trigger,
        {{ unnest_list(int_range(whole_epoch_s('c.ts_start'), whole_epoch_s('c.ts_end') ~ ' + 1')) }} as ts_s
    from {{ ref('dwd_case') }} as c
    where c.perception_suspect and {{ around_run_day('c.ts_start', 'c.dt') }}
),

fired as (
    select f.vehicle_id, f.ts_s, {{ sorted_set_agg('g.trigger') }} as triggers
    from seconds as f
    inner join firings as g
        on f.ts_s = g.ts_s
        and (f.vehicle_id = g.vehicle_id or (g.vehicle_id is null and f.site_id = g.site_id))
    group by all
)

select
    {{ utc_date(from_epoch_s('f.ts_s')) }} as dt,
    f.vehicle_id,
    f.ts_s,
    f.site_id,
    f.route_id,
    f.version,
    f.vehicle_class,
    f.speed_mps,
    f.acc_lon_mps2,
    f.yaw_rate_rps,
    f.drive_mode,
    f.road_type,
    cast(n.lane_count as integer) as lane_count,
    coalesce(n.junction_id is not null, false) as in_junction,
    coalesce(n.junction_signalised, false) as junction_signalised,
    c.vehicle_id is not null as on_crosswalk,
    coalesce(n.merge, false) as in_merge,
    f.road_type = 'tunnel' as in_tunnel,
    coalesce(n.turn, 'straight') as turn,
    n.lane_change,
    e.weather,
    e.light,
    {%- for c in counts %}
        cast(s.{{ c }} as integer) as {{ c }},
    {%- endfor %}
    s.lead_class,
    s.lead_gap_m,
    s.lead_rel_speed_mps,
    s.lead_time_headway_s,
    s.vru_distance_m,
    s.vru_bearing_deg,
    s.min_track_confidence,
    cast(s.flickering_tracks as integer) as flickering_tracks,
    s.tl_state,
    s.tl_distance_m,
    {%- for t in triggers %}
        coalesce({{ list_has('g.triggers', "'" ~ t ~ "'") }}, false) as trig_{{ t }},
    {%- endfor %}
    f.drive_mode in ('remote', 'manual') as takeover_active,
    r.vehicle_id is not null as remote_active
from seconds as f
left join lane_context as n using (vehicle_id, ts_s)
left join on_crosswalk as c using (vehicle_id, ts_s)
left join environment as e using (vehicle_id, ts_s)
left join remote_sessions as r using (vehicle_id, ts_s)
left join fired as g using (vehicle_id, ts_s)
inner join summary as s on f.vehicle_id = s.vehicle_id and f.ts = s.ts
