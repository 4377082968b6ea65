-- hard_brake: a run of acc_lon_mps2 <= tier_mild_mps2 lasting >= min_duration_s whose first sample is at
-- speed >= min_speed_mps; tier by the run's minimum acceleration (severe / hard / mild).
with params as (
    {{ trigger_params('hard_brake', ['acc_threshold_mps2', 'min_duration_s', 'min_speed_mps',
                                     'tier_mild_mps2', 'tier_severe_mps2', 'severity']) }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id from {{ ref('dwd_vehicle') }}
),

pose as (
    select p.*, coalesce(v.vehicle_class, '*') as vehicle_class, v.site_id
    from (
        select vehicle_id, ts, speed_mps, acc_lon_mps2
        from {{ source('ods', 'ods_pose') }}
        where
            {{ around_run_day('ts', 'dt') }}
            and acc_lon_mps2 <= {{ loosest_param('hard_brake', 'tier_mild_mps2', 'max') }}
    ) as p
    left join vehicles as v on p.vehicle_id = v.vehicle_id
),

braking as (
    select pose.*, params.* exclude (vehicle_class)
    from pose
    inner join params using (vehicle_class)
    where pose.acc_lon_mps2 <= params.tier_mild_mps2
),

runs as (
    {{ numbered_runs('braking') }}
),

summarised as (
    select
        vehicle_id,
        run_no,
        any_value(site_id) as site_id,
        min(ts) as ts_start,
        max(ts) as ts_end,
        count(*) as n_samples,
        arg_min(speed_mps, ts) as speed_at_start_mps,
        min(acc_lon_mps2) as min_acc_lon_mps2,
        any_value(min_duration_s) as min_duration_s,
        any_value(min_speed_mps) as min_speed_mps,
        any_value(acc_threshold_mps2) as acc_threshold_mps2,
        any_value(tier_severe_mps2) as tier_severe_mps2,
        any_value(severity) as base_severity
    from runs
    group by vehicle_id, run_no
),

tiered as (
    select
        *,
        case
            when min_acc_lon_mps2 <= tier_severe_mps2 then 'severe'
            when min_acc_lon_mps2 <= acc_threshold_mps2 then 'hard'
            else 'mild'
        end as tier
    from summarised
    where
        {{ lasts_at_least(run_duration_s('n_samples'), 'min_duration_s') }}
        and speed_at_start_mps >= min_speed_mps
)

select
    {{ event_id("'hard_brake'", 'vehicle_id', 'site_id', 'ts_start') }} as event_id,
    {{ utc_date('ts_start') }} as dt,
    vehicle_id,
    site_id,
    'hard_brake' as trigger,
    ts_start,
    ts_end,
    (base_severity + case tier when 'severe' then 1 when 'mild' then -1 else 0 end)::integer as severity,
    json_object(
        'tier', tier,
        'dt', {{ utc_date('ts_start') }}::varchar,
        'duration_s', {{ run_duration_s('n_samples') }},
        'min_acc_lon_mps2', min_acc_lon_mps2,
        'speed_at_start_mps', speed_at_start_mps
    ) as attributes
from tiered
where {{ on_run_day('ts_start', utc_date('ts_start')) }}
