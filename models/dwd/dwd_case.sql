-- Cases: the window [ts_start - pre_s, ts_end + post_s] around every vehicle event (site_anomaly excluded);
-- overlapping windows of one vehicle merge into one case. case_id = 'case_' || first 16 hex of
-- md5(vehicle_id || '|' || epoch_ms(window start)); dt = UTC day of the case's first event.
-- uncertainty = highest normalised planner entropy inside the window; priority = severity x (1 + uncertainty).
-- perception_suspect: a hard_brake and (a phantom-looking object within phantom_ahead_m ahead, or a
-- perception error code) in the window; such cases ask for a raw upload instead of a counterfactual.
with params as (
    {{ trigger_params('case', ['pre_s', 'post_s']) }}
),

events as (
    select e.*, coalesce(v.vehicle_class, '*') as class_key, v.vehicle_class as registry_class
    from {{ ref('dwd_event') }} as e
    left join {{ ref('dwd_vehicle') }} as v on e.vehicle_id = v.vehicle_id
    where
        e.vehicle_id is not null
        and e.trigger != 'site_anomaly'
    {%- if run_date() %}
        and e.dt between {{ run_date_literal() }} - 1 and {{ run_date_literal() }} + 1
        {%- endif %}
),

windows as (
    select
        e.*,
        e.ts_start - {{ seconds_interval('p.pre_s') }} as window_start,
        e.ts_end + {{ seconds_interval('p.post_s') }} as window_end
    from events as e
    inner join params as p on e.class_key = p.vehicle_class
),

merged as (
    select
        *,
        sum(case when window_start <= prev_window_end then 0 else 1 end)
            over (partition by vehicle_id order by window_start, ts_start, event_id rows unbounded preceding) as case_no
    from (
        select
            *,
            max(window_end) over (
                partition by vehicle_id order by window_start, ts_start, event_id
                rows between unbounded preceding and 1 preceding
            ) as prev_window_end
        from windows
    )
),

cases as (
    select
        vehicle_id,
        case_no,
        any_value(site_id) as site_id,
        any_value(registry_class) as vehicle_class,
        min(window_start) as ts_start,
        max(window_end) as ts_end,
        min(ts_start) as first_event_ts,
        max(ts_end) as last_event_ts,
        {{ sorted_set_agg('trigger') }} as triggers,
        {{ sorted_set_agg("trigger || coalesce('(' || tier || ')', '')") }} as trigger_labels,
        {{ sorted_list_agg('event_id') }} as event_ids,
        count(*) as n_events,
        max(severity) as severity,
        bool_or(trigger = 'hard_brake') as has_hard_brake
    from merged
    group by vehicle_id, case_no
),

run_day_cases as (
    select
        {{ hashed_id('case_', ['vehicle_id', epoch_ms('ts_start')]) }} as case_id,
        {{ utc_date('first_event_ts') }} as dt,
        *
    from cases
    where {{ in_run_period(utc_date('first_event_ts')) }}
),

case_seconds as (
    select
        case_id,
        vehicle_id,
        ts_start,
        ts_end,
        {{ unnest_list(int_range('floor(' ~ epoch_s('ts_start') ~ ')::bigint',
                                 'floor(' ~ epoch_s('ts_end') ~ ')::bigint + 1')) }} as epoch_s
    from run_day_cases
),

planner as (
    select vehicle_id, ts, norm_entropy, floor({{ epoch_s('ts') }})::bigint as epoch_s
    from {{ ref('dwd_planner_sample') }}
    where {{ around_run_day('ts', 'dt') }}
),

case_uncertainty as (
    select s.case_id, max(p.norm_entropy) as uncertainty
    from case_seconds as s
    inner join planner as p
        on s.vehicle_id = p.vehicle_id and s.epoch_s = p.epoch_s and p.ts between s.ts_start and s.ts_end
    group by s.case_id
),

phantom_objects as (
    select c.case_id, count(distinct o.object_id) as n_phantom_objects
    from run_day_cases as c
    inner join {{ ref('dwd_perception_object') }} as o
        on c.vehicle_id = o.vehicle_id and o.ts between c.ts_start and c.ts_end
    where
        o.is_phantom_looking
        and o.ahead_m >= 0
        and o.range_m <= {{ definition('phantom', 'ahead_m') }}
    group by c.case_id
),

perception_errors as (
    select c.case_id, count(*) as n_perception_errors
    from run_day_cases as c
    inner join {{ ref('dwd_error_code') }} as e
        on c.vehicle_id = e.vehicle_id and e.ts between c.ts_start and c.ts_end
    where e.module = 'perception'
    group by c.case_id
),

scored as (
    select
        c.*,
        coalesce(u.uncertainty, 0) as uncertainty,
        coalesce(o.n_phantom_objects, 0) as n_phantom_objects,
        coalesce(e.n_perception_errors, 0) as n_perception_errors,
        c.has_hard_brake and (coalesce(o.n_phantom_objects, 0) > 0 or coalesce(e.n_perception_errors, 0) > 0)
            as perception_suspect
    from run_day_cases as c
    left join case_uncertainty as u using (case_id)
    left join phantom_objects as o using (case_id)
    left join perception_errors as e using (case_id)
)

select
    case_id,
    dt,
    vehicle_id,
    site_id,
    vehicle_class,
    ts_start,
    ts_end,
    first_event_ts,
    last_event_ts,
    triggers,
    trigger_labels,
    event_ids,
    n_events,
    severity::integer as severity,
    round(uncertainty, 4) as uncertainty,
    round(severity * (1 + uncertainty), 4) as priority,
    n_phantom_objects,
    n_perception_errors,
    perception_suspect,
    case when perception_suspect then 'raw_upload' else 'counterfactual' end as action,
    concat_ws(
        '; ',
        {{ list_join('trigger_labels', "', '") }},
        'severity ' || severity,
        'planner uncertainty ' || round(uncertainty, 2),
        case
            when perception_suspect then
                'perception suspect (' || concat_ws(
                    ', ',
                    case when n_phantom_objects > 0 then 'phantom-looking object ahead' end,
                    case when n_perception_errors > 0 then 'perception error code' end
                ) || '): raw upload'
        end
    ) as reason
from scored
