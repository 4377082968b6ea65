-- Tonight's replay queue: the day's cases that ask for a counterfactual or a raw upload, ranked by priority
-- (severity x (1 + planner uncertainty)), with the window to replay and why the case is there.
-- What a case gets comes from seeds/trigger_catalog.csv: 'raw_upload' when it is perception suspect (catalog
-- row perception_suspect), else 'counterfactual' when any of its triggers asks for one. A case whose triggers
-- all ask for an operations ticket (offline, error_burst, call_guard) is not a driving problem and is never
-- replayed: it is in ads_ops_queue only. A case with both kinds is replayed for its counterfactual triggers
-- (replay_triggers) and ticketed in ads_ops_queue for its operations triggers (ops_triggers).
with cases as (
    select * from {{ ref('dwd_case') }}
    where {{ in_run_period('dt') }}
),

catalog as (
    select trigger, action from {{ ref('trigger_catalog') }}
),

case_triggers as (
    select t.case_id, t.trigger, k.action
    from (select case_id, {{ unnest_list('triggers') }} as trigger from cases) as t
    left join catalog as k using (trigger)
),

case_actions as (
    select
        case_id,
        coalesce({{ sorted_list_agg('trigger', "action = 'counterfactual'") }}, {{ empty_text_list() }})
            as replay_triggers,
        coalesce({{ sorted_list_agg('trigger', "action = 'ops_ticket'") }}, {{ empty_text_list() }})
            as ops_triggers
    from case_triggers
    group by case_id
),

routed as (
    select
        c.*,
        a.replay_triggers,
        a.ops_triggers,
        case
            when c.perception_suspect then p.action
            when {{ list_length('a.replay_triggers') }} > 0 then 'counterfactual'
        end as queue_action
    from cases as c
    inner join case_actions as a using (case_id)
    left join catalog as p on p.trigger = 'perception_suspect'
),

queued as (
    select * from routed
    where queue_action is not null
)

select
    case_id::string as case_id,
    dt::date as dt,
    vehicle_id::string as vehicle_id,
    site_id::string as site_id,
    vehicle_class::string as vehicle_class,
    {{ as_timestamp('ts_start') }} as ts_start,
    {{ as_timestamp('ts_end') }} as ts_end,
    {{ as_text_list('triggers') }} as triggers,
    {{ as_text_list('replay_triggers') }} as replay_triggers,
    {{ as_text_list('ops_triggers') }} as ops_triggers,
    n_events::bigint as n_events,
    severity::integer as severity,
    uncertainty::double as uncertainty,
    priority::double as priority,
    row_number() over (
        partition by dt order by priority desc, severity desc, ts_start asc, case_id asc
    )::bigint as queue_rank,
    perception_suspect::boolean as perception_suspect,
    queue_action::string as action,
    concat_ws(
        '; ',
        reason,
        case
            when {{ list_length('ops_triggers') }} > 0 then
                {{ list_join('ops_triggers', "', '") }} || ': operations ticket (ads_ops_queue), not replayed'
        end
    )::string as reason
from queued
