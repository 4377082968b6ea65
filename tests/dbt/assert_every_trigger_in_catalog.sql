-- Every event trigger (a trigger of seeds/trigger_definitions.csv with a severity, or one firing in dwd_event)
-- has a row in seeds/trigger_catalog.csv: a case is routed (replay, raw upload or operations ticket) only by
-- the catalog. (The definitions' case, run and phantom rows are parameters, not triggers.)
{{ config(meta={'dagster': {'ref': {'name': 'dwd_event'}}}) }}  -- its asset check's asset

with triggers as (
    select trigger from {{ ref('trigger_definitions') }}
    where parameter = 'severity'
    union
    select trigger from {{ ref('dwd_event') }}
),

catalog as (
    select trigger from {{ ref('trigger_catalog') }}
)

select t.trigger
from triggers as t
left join catalog as k using (trigger)
where k.trigger is null
