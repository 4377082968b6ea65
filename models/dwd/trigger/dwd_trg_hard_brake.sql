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
    select pose.*, {{ star_except(['vehicle_class'], 'params') }}
    from pose
    inner join params using (vehicle_class)
    where pose.acc_lon_mps2 <= params.tier_mild_mps2
),

summarised as (
    {{ merged_events('braking', 'n_samples', {
        'speed_at_start_mps': value_at_min('speed_mps', 'ts'),
        'min_acc_lon_mps2': 'min(acc_lon_mps2)',
        'min_duration_s': 'any_value(min_duration_s)',
        'min_speed_mps': 'any_value(min_speed_mps)',
        'acc_threshold_mps2': 'any_value(acc_threshold_mps2)',
        'tier_severe_mps2': 'any_value(tier_severe_mps2)',
        'base_severity': 'any_value(severity)'}) }}
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

{{ trigger_events('hard_brake', 'tiered', {
    'tier': 'tier',
    'duration_s': run_duration_s('n_samples'),
    'min_acc_lon_mps2': 'min_acc_lon_mps2',
    'speed_at_start_mps': 'speed_at_start_mps'},
    severity="(base_severity + case tier when 'severe' then 1 when 'mild' then -1 else 0 end)", dt_after='tier') }}
