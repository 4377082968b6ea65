-- Every vehicle event (site anomalies excepted) belongs to exactly one case of its vehicle whose window
-- covers it.
{{ config(meta={'dagster': {'ref': {'name': 'dwd_case'}}}) }}  -- its asset check's asset

with events as (
    select event_id, vehicle_id, ts_start, ts_end from {{ ref('dwd_event') }}
    where vehicle_id is not null and trigger != 'site_anomaly'
),

memberships as (
    select c.case_id, {{ unnest_list('c.event_ids') }} as event_id, c.vehicle_id, c.ts_start, c.ts_end
    from {{ ref('dwd_case') }} as c
)

select e.event_id, count(m.case_id) as n_cases
from events as e
left join memberships as m
    on m.event_id = e.event_id and m.vehicle_id = e.vehicle_id
    and e.ts_start >= m.ts_start and e.ts_end <= m.ts_end
group by e.event_id
having count(m.case_id) != 1
