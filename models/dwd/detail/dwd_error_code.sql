-- Error codes with the catalog's module, severity and what the code counts toward.
with codes as (
    select * from {{ source('ods', 'ods_error_code') }}
    where {{ on_run_day('ts', 'dt') }}
),

catalog as (
    select * from {{ ref('error_code_catalog') }}
),

vehicles as (
    select vehicle_id, site_id from {{ ref('dwd_vehicle') }}
)

select
    {{ utc_date('e.ts') }} as dt,
    e.vehicle_id,
    e.ts,
    upper(e.code) as code,
    lower(coalesce(c.module, e.module)) as module,
    lower(e.severity) as severity,
    coalesce(c.counts_toward, 'none') as counts_toward,
    c.code is not null as is_in_catalog,
    v.site_id
from codes as e
left join catalog as c on c.code = upper(e.code)
left join vehicles as v on e.vehicle_id = v.vehicle_id
