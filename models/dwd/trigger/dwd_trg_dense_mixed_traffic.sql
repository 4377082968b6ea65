-- dense_mixed_traffic: vulnerable road users and vehicles together around the ego. From the 1 Hz
-- perception_summary: seconds with at least min_vru pedestrians, cyclists, tricycles and scooters and at least
-- min_vehicles cars, trucks and buses counted within radius_m (one of the summary's radii); qualifying seconds
-- at most max_gap_s apart form one event. Why: seed 000 replays such scenes even when they were handled well.
with params as (
    {{ trigger_params('dense_mixed_traffic', ['radius_m', 'min_vru', 'min_vehicles', 'max_gap_s', 'severity']) }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id from {{ ref('dwd_vehicle') }}
),

counts as (
    select
        vehicle_id,
        ts,
        regexp_extract(count_column, '^n_([a-z]+)_([0-9]+)m$', 1) as object_class,
        regexp_extract(count_column, '^n_([a-z]+)_([0-9]+)m$', 2)::double as radius_m,
        n_objects
    from (
        {{ unpivot_matching(source('ods', 'ods_perception_summary'), around_run_day('ts', 'dt'), ['vehicle_id', 'ts'],
                            '^n_[a-z]+_[0-9]+m$', 'count_column', 'n_objects') }}
    )
),

grouped as (
    select
        n.vehicle_id,
        n.ts,
        coalesce(v.vehicle_class, '*') as vehicle_class,
        any_value(v.site_id) as site_id,
        n.radius_m,
        sum(n.n_objects) filter (where n.object_class in ('pedestrian', 'cyclist', 'tricycle', 'scooter')) as n_vru,
        sum(n.n_objects) filter (where n.object_class in ('car', 'truck', 'bus')) as n_vehicle
    from counts as n
    left join vehicles as v on n.vehicle_id = v.vehicle_id
    group by all
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
