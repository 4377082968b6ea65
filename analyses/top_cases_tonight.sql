-- The top 20 cases to replay tonight: the latest day's counterfactual cases in queue order, with the
-- window to replay and why each is there.
select
    queue_rank,
    case_id,
    vehicle_id,
    site_id,
    ts_start,
    ts_end,
    triggers,
    severity,
    uncertainty,
    priority,
    reason
from {{ ref('ads_case_queue') }}
where
    action = 'counterfactual'
    and dt = (select max(latest.dt) from {{ ref('ads_case_queue') }} as latest)
order by queue_rank
limit 20
