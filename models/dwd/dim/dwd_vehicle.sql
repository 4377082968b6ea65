-- One row per vehicle: its latest registry snapshot joined to the vehicle class.
with registry as (
    select * from {{ source('ods', 'ods_vehicle_registry') }}
),

vehicle_classes as (
    select * from {{ ref('vehicle_classes') }}
),

latest as (
    select vehicle_id, vehicle_class, city, site_id, ts as registered_at
    from registry
    qualify row_number() over (partition by vehicle_id order by ts desc, _loaded_at desc) = 1
)

select
    l.vehicle_id,
    l.vehicle_class,
    l.city,
    l.site_id,
    l.registered_at,
    c.cruise_speed_mps,
    c.length_m,
    c.width_m
from latest as l
left join vehicle_classes as c using (vehicle_class)
