-- dense_mixed_traffic: vulnerable road users and vehicles together around the ego. From the 1 Hz
-- perception_summary: seconds with at least min_vru pedestrians, cyclists, tricycles and scooters and at least
-- min_vehicles cars, trucks and buses counted within radius_m (one of the summary's radii); qualifying seconds
-- at most max_gap_s apart form one event. Why: seed 000 replays such scenes even when they were handled well.
-- The summary's count columns (n_<class>_<radius>m) are read when the model compiles and added up per radius
-- and family in one pass; a long form (one row per column) would be 21 rows per second.
{%- set families = {'vru': ['pedestrian', 'cyclist', 'tricycle', 'scooter'], 'vehicle': ['car', 'truck', 'bus']} %}
{%- set summary_source = source('ods', 'ods_perception_summary') %}
{%- set radii = {} %}
{%- if execute %}
    {%- for column in adapter.get_columns_in_relation(summary_source) %}
        {%- set match = modules.re.match('^n_([a-z]+)_([0-9]+)m$', column.name) %}
        {%- for family, classes in families.items() if match and match.group(1) in classes %}
            {%- do radii.setdefault(match.group(2), {'vru': [], 'vehicle': []})[family].append(column.name) %}
        {%- endfor %}
    {%- endfor %}
{%- endif %}
with params as (
    {{ trigger_params('dense_mixed_traffic', ['radius_m', 'min_vru', 'min_vehicles', 'max_gap_s', 'severity']) }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id from {{ ref('dwd_vehicle') }}
),

summary as (
    select * from {{ summary_source }}
    where {{ around_run_day('ts', 'dt') }}
),

counts as (
    {%- for radius, columns in radii | dictsort %}
    select
        vehicle_id,
        ts,
        {%- for family in ['vru', 'vehicle'] %}
        {% for c in columns[family] %}coalesce({{ c }}, 0){{ ' + ' if not loop.last }}{% else %}null{% endfor %}
            as n_{{ family }},
        {%- endfor %}
        cast({{ radius }} as double) as radius_m
    from summary
    union all
    {%- endfor %}
    -- closes the union (and is all there is when no count column is known yet, at parse)
    select vehicle_id, ts, 0 as n_vru, 0 as n_vehicle, cast(null as double) as radius_m
    from summary
    where false
),

grouped as (
    select
        n.vehicle_id,
        n.ts,
        coalesce(v.vehicle_class, '*') as vehicle_class,
        v.site_id,
        n.radius_m,
        n.n_vru,
        n.n_vehicle
    from counts as n
    left join vehicles as v on n.vehicle_id = v.vehicle_id
),

dense as (
    select g.*, {{ star_except(['vehicle_class', 'radius_m'], 'p') }}
    from grouped as g
    inner join params as p on g.vehicle_class = p.vehicle_class and g.radius_m = p.radius_m
    where g.n_vru >= p.min_vru and g.n_vehicle >= p.min_vehicles
),

events as (
    {{ merged_events('dense', 'n_seconds', {
        'max_vru': 'max(n_vru)',
        'max_vehicles': 'max(n_vehicle)',
        'severity': 'any_value(severity)'}, max_gap_s='max_gap_s') }}
)

{{ trigger_events('dense_mixed_traffic', 'events', {
    'n_seconds': 'n_seconds', 'max_vru': 'max_vru', 'max_vehicles': 'max_vehicles'}) }}
