-- The finest daily slice every DWS rollup sums: per day, vehicle, site, city, class, route, road type and
-- software version: operating and auto time, km by drive mode, event counts by trigger, MPS events,
-- dangerous incidents (MPD_all, MPD_resp). Site-wide events (site_anomaly) sit in rows without a vehicle.
{%- set dims = ['dt', 'vehicle_id', 'site_id', 'city', 'vehicle_class', 'route_id', 'road_type', 'version'] %}
with segments as (
    select * from {{ ref('dwd_drive_mode_segment') }}
    where {{ in_run_period('dt') }}
),

events as (
    select * from {{ ref('dwd_event') }}
    where {{ in_run_period('dt') }}
),

incidents as (
    select * from {{ ref('dwd_incident') }}
    where {{ in_run_period('dt') }}
),

exposure as (
    select
        {{ dims | join(', ') }},
        {%- for mode in ['auto', 'remote', 'manual', 'fault'] %}
            {%- set in_mode = "drive_mode = '" ~ mode ~ "'" %}
            coalesce({{ exact_sum('distance_m', in_mode) }}, 0) / 1000 as km_{{ mode }},
        {%- endfor %}
        {{ exact_sum('duration_s') }} as operating_s,
        coalesce({{ exact_sum('duration_s', "drive_mode = 'auto'") }}, 0) as auto_s,
        {{ exact_sum('distance_m') }} / 1000 as km_total
    from segments
    group by all
),

event_counts as (
    select
        {{ dims | join(', ') }},
        {%- for t in trigger_names() %}
            count(*) filter (where trigger = '{{ t }}') as n_{{ t }},
        {%- endfor %}
        count(*) filter (where trigger = 'hard_brake' and tier in ('hard', 'severe')) as n_hard_brake_hard_or_severe,
        count(*) filter (where trigger = 'stuck' and tier = 'problem') as n_stuck_problem,
        count(*) filter (where {{ is_mps_event() }}) as n_mps,
        coalesce({{ exact_sum('duration_s', "trigger = 'stuck'") }}, 0) as stuck_s,
        coalesce({{ exact_sum('duration_s', "trigger = 'offline'") }}, 0) as offline_s
    from events
    group by all
),

incident_counts as (
    select
        {{ dims | join(', ') }},
        count(*) as n_incidents,
        count(*) filter (where is_dangerous) as n_mpd_all,
        count(*) filter (where is_dangerous_responsible) as n_mpd_resp
    from incidents
    group by all
),

unioned as (
    {%- set counts = [] %}
    {%- for t in trigger_names() %}{% do counts.append('n_' ~ t) %}{% endfor %}
    {%- do counts.extend(['n_hard_brake_hard_or_severe', 'n_stuck_problem', 'n_mps', 'stuck_s', 'offline_s']) %}
    {{ union_all_by_name([
        ('exposure', dims + ['km_auto', 'km_remote', 'km_manual', 'km_fault', 'operating_s', 'auto_s', 'km_total']),
        ('event_counts', dims + counts),
        ('incident_counts', dims + ['n_incidents', 'n_mpd_all', 'n_mpd_resp'])]) }}
)

select
    {{ dims | join(', ') }},
    {%- for m in ['operating_s', 'auto_s', 'km_total', 'km_auto', 'km_remote', 'km_manual', 'km_fault'] %}
        coalesce({{ exact_sum(m) }}, 0) as {{ m }},
    {%- endfor %}
    {%- for m in trigger_names() %}
        coalesce(sum(n_{{ m }}), 0)::bigint as n_{{ m }},
    {%- endfor %}
    {%- for m in ['n_hard_brake_hard_or_severe', 'n_stuck_problem', 'n_mps', 'n_incidents', 'n_mpd_all',
                  'n_mpd_resp'] %}
        coalesce(sum({{ m }}), 0)::bigint as {{ m }},
    {%- endfor %}
    coalesce({{ exact_sum('stuck_s') }}, 0) as stuck_s,
    coalesce({{ exact_sum('offline_s') }}, 0) as offline_s
from unioned
group by all
