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
    select planner.*, params.* exclude (vehicle_class)
    from planner
    inner join params using (vehicle_class)
    where planner.norm_entropy >= params.min_norm_entropy or planner.top_margin < params.max_top_margin
),

runs as (
    {{ numbered_runs('flat') }}
),

summarised as (
    select
        vehicle_id,
        run_no,
        any_value(site_id) as site_id,
        min(ts) as ts_start,
        max(ts) as ts_end,
        count(*) as n_samples,
        max(norm_entropy) as max_norm_entropy,
        min(top_margin) as min_top_margin,
        any_value(min_duration_s) as min_duration_s,
        any_value(severity) as severity
    from runs
    group by vehicle_id, run_no
)

select
    {{ event_id("'uncertainty'", 'vehicle_id', 'site_id', 'ts_start') }} as event_id,
    {{ utc_date('ts_start') }} as dt,
    vehicle_id,
    site_id,
    'uncertainty' as trigger,
    ts_start,
    ts_end,
    severity::integer as severity,
    json_object(
        'dt', {{ utc_date('ts_start') }}::varchar,
        'duration_s', {{ run_duration_s('n_samples') }},
        'max_norm_entropy', max_norm_entropy,
        'min_top_margin', min_top_margin
    ) as attributes
from summarised
where
    {{ lasts_at_least(run_duration_s('n_samples'), 'min_duration_s') }}
    and {{ on_run_day('ts_start', utc_date('ts_start')) }}
