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
    select *, {{ whole_epoch_s('ts') }} as ts_s
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
    select * from {{ ref('dwd_lane_segment') }}
),

seconds as (
    select
        s.*,
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
    from summary as s
    {{ asof_left_join('heartbeat', 'h', 's.vehicle_id', 'vehicle_id', 's.ts') }}
    left join pose as p
        on s.vehicle_id = p.vehicle_id and s.ts_s = p.ts_s
),

projected as (
    select
        f.vehicle_id,
        f.ts_s,
        f.x_m,
        f.y_m,
        {{ star_except(['site_id', 'route_id', 'x_m', 'y_m', 'cell_x', 'cell_y'], 'g') }},  -- noqa: RF02
        g.x_m as from_x_m,
        g.y_m as from_y_m,
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
        s0_m + t * length_m as along_m,
        sqrt(
            pow(x_m - (from_x_m + t * (next_x_m - from_x_m)), 2) + pow(y_m - (from_y_m + t * (next_y_m - from_y_m)), 2)
        ) as distance_m
    from (select *, greatest(0, least(1, raw_t)) as t from projected) as clamped
),

lanes_within_reach as (
    select vehicle_id, ts_s, count(distinct lane_id) as lane_count
    from distanced
    where distance_m <= reach_m and is_within
    group by vehicle_id, ts_s
),

nearest_distance as (
    select vehicle_id, ts_s, min(distance_m) as distance_m
    from distanced
    group by vehicle_id, ts_s
),

-- the nearest segment (ties: the first lane and offset), ranked among the nearest only: a window over every
-- candidate segment would sort five times the rows
nearest as (
    select
        d.*,
        coalesce(l.lane_count, 0) as lane_count
    from distanced as d
    inner join nearest_distance as m
        on d.vehicle_id = m.vehicle_id and d.ts_s = m.ts_s and d.distance_m is not distinct from m.distance_m
    left join lanes_within_reach as l on d.vehicle_id = l.vehicle_id and d.ts_s = l.ts_s
    qualify row_number() over (partition by d.vehicle_id, d.ts_s order by d.lane_id, d.s0_m) = 1
),

crosswalks as (
    select distinct lane_id, s0_m, s0_m + length_m as s1_m
    from segments
    where crosswalk
),

on_crosswalk as (
    select distinct n.vehicle_id, n.ts_s
    from nearest as n
    inner join seconds as f using (vehicle_id, ts_s)
    inner join vehicle_classes as v on f.vehicle_class = v.vehicle_class
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
    case
        when f.ts_s - lag(f.ts_s) over w != 1 or lag(n.lane_id) over w is null then 'none'
        when n.lane_id = lag(n.lane_id) over w or {{ list_has('lag(n.successors) over w', 'n.lane_id') }} then 'none'
        when
            (n.next_x_m - n.from_x_m) * (f.y_m - lag(f.y_m) over w)
            - (n.next_y_m - n.from_y_m) * (f.x_m - lag(f.x_m) over w) > 0 then 'left'
        else 'right'
    end as lane_change,
    e.weather,
    e.light,
    {%- for c in counts %}
        cast(f.{{ c }} as integer) as {{ c }},
    {%- endfor %}
    f.lead_class,
    f.lead_gap_m,
    f.lead_rel_speed_mps,
    f.lead_time_headway_s,
    f.vru_distance_m,
    f.vru_bearing_deg,
    f.min_track_confidence,
    cast(f.flickering_tracks as integer) as flickering_tracks,
    f.tl_state,
    f.tl_distance_m,
    {%- for t in triggers %}
        coalesce({{ list_has('g.triggers', "'" ~ t ~ "'") }}, false) as trig_{{ t }},
    {%- endfor %}
    f.drive_mode in ('remote', 'manual') as takeover_active,
    r.vehicle_id is not null as remote_active
from seconds as f
left join nearest as n using (vehicle_id, ts_s)
left join on_crosswalk as c using (vehicle_id, ts_s)
left join environment as e using (vehicle_id, ts_s)
left join remote_sessions as r using (vehicle_id, ts_s)
left join fired as g using (vehicle_id, ts_s)
window w as (partition by f.vehicle_id order by f.ts_s)
