-- unprotected_left: the ego turns left across oncoming traffic at a junction without a protected phase. From
-- the 1 Hz perception_summary and the pose sample of the same second: yaw_rate_rps >= min_yaw_rate_rps (turning
-- left, CCW positive), oncoming_50m >= min_oncoming, and no traffic light ahead closer than signal_near_m in the
-- last signal_lookback_s (a light that close marks the junction being turned through as signalised);
-- qualifying seconds at most max_gap_s apart form one event. Why: seed 000 replays these scenes even when
-- handled well; a vehicle logs its turn, the oncoming road users and the light ahead, not the junction's phase.
with params as (
    {{ trigger_params('unprotected_left', ['min_yaw_rate_rps', 'min_oncoming', 'signal_near_m',
                                           'signal_lookback_s', 'max_gap_s', 'severity']) }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id from {{ ref('dwd_vehicle') }}
),

summary as (
    select vehicle_id, ts, oncoming_50m, tl_distance_m
    from {{ source('ods', 'ods_perception_summary') }}
    where {{ around_run_day('ts', 'dt') }}
),

pose as (
    select vehicle_id, ts, yaw_rate_rps
    from {{ source('ods', 'ods_pose') }}
    where {{ around_run_day('ts', 'dt') }}
),

turning as (
    select s.vehicle_id, s.ts, s.oncoming_50m, p.yaw_rate_rps, v.site_id, {{ star_except(['vehicle_class'], 'prm') }}
    from summary as s
    inner join pose as p on s.vehicle_id = p.vehicle_id and s.ts = p.ts
    left join vehicles as v on s.vehicle_id = v.vehicle_id
    inner join params as prm on coalesce(v.vehicle_class, '*') = prm.vehicle_class
    where s.oncoming_50m >= prm.min_oncoming and p.yaw_rate_rps >= prm.min_yaw_rate_rps
),

unprotected as (
    select t.*
    from turning as t
    anti join summary as l
        on t.vehicle_id = l.vehicle_id
        and t.ts - {{ seconds_interval('t.signal_lookback_s') }} <= l.ts
        and t.ts >= l.ts
        and t.signal_near_m > l.tl_distance_m
),

events as (
    {{ merged_events('unprotected', 'n_seconds', {
        'max_oncoming': 'max(oncoming_50m)',
        'severity': 'any_value(severity)'}, max_gap_s='max_gap_s') }}
)

{{ trigger_events('unprotected_left', 'events', {'n_seconds': 'n_seconds', 'max_oncoming': 'max_oncoming'}) }}
