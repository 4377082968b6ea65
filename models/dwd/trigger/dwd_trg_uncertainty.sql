-- uncertainty: a run of flat planner samples (normalised entropy >= min_norm_entropy or top-1 minus top-2
-- score < max_top_margin) lasting >= min_duration_s.
with params as (
    {{ trigger_params('uncertainty', ['min_norm_entropy', 'max_top_margin', 'min_duration_s', 'severity']) }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id from {{ ref('dwd_vehicle') }}
),

planner as (
    select p.vehicle_id, p.ts, p.norm_entropy, p.top_margin, coalesce(v.vehicle_class, '*') as vehicle_class, v.site_id
    from {{ ref('dwd_planner_sample') }} as p
    left join vehicles as v on p.vehicle_id = v.vehicle_id
    where {{ around_run_day('p.ts', 'p.dt') }}
),

flat as (
    select planner.*, {{ star_except(['vehicle_class'], 'params') }}
    from planner
    inner join params using (vehicle_class)
    where planner.norm_entropy >= params.min_norm_entropy or planner.top_margin < params.max_top_margin
),

summarised as (
    {{ merged_events('flat', 'n_samples', {
        'max_norm_entropy': 'max(norm_entropy)',
        'min_top_margin': 'min(top_margin)',
        'min_duration_s': 'any_value(min_duration_s)',
        'severity': 'any_value(severity)'}) }}
)

{{ trigger_events('uncertainty', 'summarised', {
    'duration_s': run_duration_s('n_samples'),
    'max_norm_entropy': 'max_norm_entropy',
    'min_top_margin': 'min_top_margin'}, where=lasts_at_least(run_duration_s('n_samples'), 'min_duration_s')) }}
