-- weaving ("drawing dragons"): swing samples (speed >= min_speed_mps, |yaw_rate| >= min_swing_rps); a sign
-- change is a swing sample whose sign differs from the previous swing sample; >= min_sign_changes changes
-- within window_s with a net heading change <= max_net_heading_rad fire; changes closer than window_s merge.
with params as (
    {{ trigger_params('weaving', ['min_sign_changes', 'window_s', 'min_swing_rps', 'min_speed_mps',
                                  'max_net_heading_rad', 'severity']) }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id from {{ ref('dwd_vehicle') }}
),

pose as (
    select p.*, coalesce(v.vehicle_class, '*') as vehicle_class, v.site_id
    from (
        select vehicle_id, ts, speed_mps, yaw_rate_rps, heading_rad
        from {{ source('ods', 'ods_pose') }}
        where
            {{ around_run_day('ts', 'dt') }}
            and speed_mps >= {{ loosest_param('weaving', 'min_speed_mps', 'min') }}
            and abs(yaw_rate_rps) >= {{ loosest_param('weaving', 'min_swing_rps', 'min') }}
    ) as p
    left join vehicles as v on p.vehicle_id = v.vehicle_id
),

swings as (
    select pose.*, {{ star_except(['vehicle_class'], 'params') }}, sign(pose.yaw_rate_rps) as swing_sign
    from pose
    inner join params using (vehicle_class)
    where pose.speed_mps >= params.min_speed_mps and abs(pose.yaw_rate_rps) >= params.min_swing_rps
),

changes as (
    select *
    from (select *, lag(swing_sign) over (partition by vehicle_id order by ts) as prev_sign from swings)
    where prev_sign is not null and swing_sign != prev_sign
),

events as (
    {{ sign_change_events('changes') }}
)

{{ trigger_events('weaving', 'events', {
    'duration_s': seconds_between('ts_start', 'ts_end'),
    'sign_changes': 'n_changes',
    'max_net_heading_rad': 'max_abs_net_heading_rad'}) }}
