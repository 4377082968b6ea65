-- takeover: every remote takeover is an event (window ts_start..ts_end).
with params as (
    {{ trigger_params('takeover', ['severity']) }}
),

takeovers as (
    select * from {{ ref('dwd_takeover') }}
    where {{ in_run_period('dt') }}
)

select
    {{ event_id("'takeover'", 't.vehicle_id', 't.site_id', 't.ts_start') }} as event_id,
    t.dt,
    t.vehicle_id,
    t.site_id,
    'takeover' as trigger,
    t.ts_start,
    t.ts_end,
    p.severity::integer as severity,
    {{ json_object_of([
        ('dt', 't.dt::string'),
        ('takeover_id', 't.takeover_id'),
        ('duration_s', 't.duration_s'),
        ('channel', 't.channel'),
        ('initiator', 't.initiator')]) }} as attributes
from takeovers as t
inner join params as p on p.vehicle_class = coalesce(t.vehicle_class, '*')
