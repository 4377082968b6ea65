-- output_jitter: sign changes of the commanded steering, ignoring |value| < min_abs_steering_deg;
-- >= min_sign_changes changes within window_s fire; changes closer than window_s merge into one event.
with params as (
    {{ trigger_params('output_jitter', ['min_sign_changes', 'window_s', 'min_abs_steering_deg', 'severity']) }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id from {{ ref('dwd_vehicle') }}
),

planner as (
    select p.vehicle_id, p.ts, p.commanded_steering_deg, coalesce(v.vehicle_class, '*') as vehicle_class, v.site_id
    from {{ ref('dwd_planner_sample') }} as p
    left join vehicles as v on p.vehicle_id = v.vehicle_id
    where {{ around_run_day('p.ts', 'p.dt') }}
),

steering as (
    select
        planner.*,
        {{ star_except(['vehicle_class'], 'params') }},
        sign(planner.commanded_steering_deg) as steer_sign,
        null::double as heading_rad,
        null::double as max_net_heading_rad
    from planner
    inner join params using (vehicle_class)
    where abs(planner.commanded_steering_deg) >= params.min_abs_steering_deg
),

changes as (
    select *
    from (select *, lag(steer_sign) over (partition by vehicle_id order by ts) as prev_sign from steering)
    where prev_sign is not null and steer_sign != prev_sign
),

events as (
    {{ sign_change_events('changes') }}
)

{{ trigger_events('output_jitter', 'events', {
    'duration_s': seconds_between('ts_start', 'ts_end'),
    'sign_changes': 'n_changes'}) }}
