-- Tonight's replay queue: the day's cases ranked by priority (severity x (1 + planner uncertainty)), with
-- the window to replay, why the case is there and what to do with it (counterfactual or raw upload).
with cases as (
    select * from {{ ref('dwd_case') }}
    where {{ in_run_period('dt') }}
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
    n_events::bigint as n_events,
    severity::integer as severity,
    uncertainty::double as uncertainty,
    priority::double as priority,
    row_number() over (partition by dt order by priority desc, severity desc, ts_start, case_id)::bigint as queue_rank,
    perception_suspect::boolean as perception_suspect,
    action::varchar as action,
    reason::varchar as reason
from cases
