-- stuck: a run of task_status = 'driving' and speed_mps < max_speed_mps whose largest distance from its
-- first position stays < max_displacement_m, lasting >= trend_s; tier 'problem' from problem_s.
with params as (
    {{ trigger_params('stuck', ['max_speed_mps', 'max_displacement_m', 'trend_s', 'problem_s', 'severity']) }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id from {{ ref('dwd_vehicle') }}
),

pose as (
    select p.*, coalesce(v.vehicle_class, '*') as vehicle_class, v.site_id
    from (
        select vehicle_id, ts, x_m, y_m, speed_mps, lower(task_status) as task_status
        from {{ source('ods', 'ods_pose') }}
        where
            {{ around_run_day('ts', 'dt') }}
            and speed_mps < {{ loosest_param('stuck', 'max_speed_mps', 'max') }}
    ) as p
    left join vehicles as v on p.vehicle_id = v.vehicle_id
),

halted as (
    select pose.*, {{ star_except(['vehicle_class'], 'params') }}
    from pose
    inner join params using (vehicle_class)
    where pose.task_status = 'driving' and pose.speed_mps < params.max_speed_mps
),

runs as (
    {{ numbered_runs('halted') }}
),

displaced as (
    select
        *,
        sqrt(
            power(x_m - first_value(x_m) over r, 2) + power(y_m - first_value(y_m) over r, 2)
        ) as displacement_m
    from runs
    window r as (partition by vehicle_id, run_no order by ts)
),

summarised as (
    select
        vehicle_id,
        run_no,
        any_value(site_id) as site_id,
        min(ts) as ts_start,
        max(ts) as ts_end,
        count(*) as n_samples,
        max(displacement_m) as max_displacement_seen_m,
        any_value(max_displacement_m) as max_displacement_m,
        any_value(trend_s) as trend_s,
        any_value(problem_s) as problem_s,
        any_value(severity) as base_severity
    from displaced
    group by vehicle_id, run_no
),

tiered as (
    select
        *,
        case when {{ lasts_at_least(run_duration_s('n_samples'), 'problem_s') }} then 'problem' else 'trend' end as tier
    from summarised
    where
        {{ lasts_at_least(run_duration_s('n_samples'), 'trend_s') }}
        and max_displacement_seen_m < max_displacement_m
)

{{ trigger_events('stuck', 'tiered', {
    'tier': 'tier',
    'duration_s': run_duration_s('n_samples'),
    'max_displacement_m': 'max_displacement_seen_m'},
    severity="(base_severity + case tier when 'problem' then 1 else 0 end)", dt_after='tier') }}
