-- Cleaned 1 Hz heartbeat with the vehicle class and the software version driving at that moment.
with heartbeat as (
    select * from {{ source('ods', 'ods_heartbeat') }}
    where {{ on_run_day('ts', 'dt') }}
),

vehicles as (
    select vehicle_id, vehicle_class from {{ ref('dwd_vehicle') }}
),

deployments as (
    select * from {{ ref('dwd_software_deployment') }}
)

select
    {{ utc_date('h.ts') }} as dt,
    h.vehicle_id,
    h.ts,
    lower(h.drive_mode) as drive_mode,
    h.speed_mps,
    lower(h.road_type) as road_type,
    h.task_id,
    lower(h.task_status) as task_status,
    h.city,
    h.site_id,
    h.route_id,
    h.lat,
    h.lon,
    v.vehicle_class,
    d.version
from heartbeat as h
left join vehicles as v on h.vehicle_id = v.vehicle_id
left join deployments as d
    on h.vehicle_id = d.vehicle_id and h.ts >= d.valid_from and h.ts < d.valid_to
