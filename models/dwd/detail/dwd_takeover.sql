-- Remote takeovers with their duration and the vehicle's dimensions.
with takeovers as (
    select * from {{ source('ods', 'ods_takeover') }}
    where {{ on_run_day('ts_start', 'dt') }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id, city from {{ ref('dwd_vehicle') }}
)

select
    {{ utc_date('t.ts_start') }} as dt,
    t.takeover_id,
    t.vehicle_id,
    t.ts_start,
    t.ts_end,
    {{ seconds_between('t.ts_start', 't.ts_end') }} as duration_s,
    t.operator_id,
    lower(t.channel) as channel,
    lower(t.initiator) as initiator,
    v.vehicle_class,
    v.site_id,
    v.city
from takeovers as t
left join vehicles as v on t.vehicle_id = v.vehicle_id
