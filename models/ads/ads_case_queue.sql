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
    from (select case_id, unnest(triggers) as trigger from cases) as t
    left join catalog as k using (trigger)
),

case_actions as (
    select
        case_id,
        coalesce(list_sort(list(trigger) filter (where action = 'counterfactual')), []) as replay_triggers,
        coalesce(list_sort(list(trigger) filter (where action = 'ops_ticket')), []) as ops_triggers
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
            when len(a.replay_triggers) > 0 then 'counterfactual'
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
    case_id::varchar as case_id,
    dt::date as dt,
    vehicle_id::varchar as vehicle_id,
    site_id::varchar as site_id,
    vehicle_class::varchar as vehicle_class,
    ts_start::timestamptz as ts_start,
    ts_end::timestamptz as ts_end,
    triggers::varchar[] as triggers,
    replay_triggers::varchar[] as replay_triggers,
    ops_triggers::varchar[] as ops_triggers,
    n_events::bigint as n_events,
    severity::integer as severity,
    uncertainty::double as uncertainty,
    priority::double as priority,
    row_number() over (
        partition by dt order by priority desc, severity desc, ts_start asc, case_id asc
    )::bigint as queue_rank,
    perception_suspect::boolean as perception_suspect,
    queue_action::varchar as action,
    concat_ws(
        '; ',
        reason,
        case
            when len(ops_triggers) > 0 then
                array_to_string(ops_triggers, ', ') || ': operations ticket (ads_ops_queue), not replayed'
        end
    )::varchar as reason
from queued
