-- call_driver and call_guard: every call is an event of the trigger named by its call_type.
with params as (
    select 'call_driver' as trigger, * from ({{ trigger_params('call_driver', ['severity']) }})
    union all
    select 'call_guard' as trigger, * from ({{ trigger_params('call_guard', ['severity']) }})
),

calls as (
    select c.*, coalesce(v.vehicle_class, '*') as vehicle_class
    from {{ ref('dwd_vehicle_call') }} as c
    left join {{ ref('dwd_vehicle') }} as v on c.vehicle_id = v.vehicle_id
    where {{ in_run_period('c.dt') }}
)

select
    {{ event_id('c.call_type', 'c.vehicle_id', 'c.site_id', 'c.ts') }} as event_id,
    c.dt,
    c.vehicle_id,
    c.site_id,
    c.call_type as trigger,
    c.ts as ts_start,
    c.ts as ts_end,
    p.severity::integer as severity,
    {{ json_object_of([('dt', 'c.dt::string'), ('reason', 'c.reason')]) }} as attributes
from calls as c
inner join params as p on c.call_type = p.trigger and c.vehicle_class = p.vehicle_class
