-- Calls for a driver or a guard.
with calls as (
    select * from {{ source('ods', 'ods_vehicle_call') }}
    where {{ on_run_day('ts', 'dt') }}
),

vehicles as (
    select vehicle_id, site_id from {{ ref('dwd_vehicle') }}
)

select
    {{ utc_date('c.ts') }} as dt,
    c.vehicle_id,
    c.ts,
    lower(c.call_type) as call_type,
    c.reason,
    v.site_id
from calls as c
left join vehicles as v on c.vehicle_id = v.vehicle_id
