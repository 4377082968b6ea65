-- Incidents classified for MPD. Dangerous (counts physical outcomes, not blame): contact or property
-- damage, a police report, a public safety complaint, a severe near-miss, an injury, or a VRU fall without
-- contact. A service complaint without police or injury is not dangerous. MPD_all counts every dangerous
-- incident, MPD_resp those at fault 'ours'. Route, road type and version from the latest heartbeat before it.
with incidents as (
    select * from {{ source('ods', 'ods_incident') }}
    where {{ on_run_day('ts', 'dt') }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id, city from {{ ref('dwd_vehicle') }}
),

heartbeat as (
    select vehicle_id, ts, route_id, road_type, version
    from {{ ref('dwd_heartbeat') }}
    where {{ around_run_day('ts', 'dt') }}
),

classified as (
    select
        *,
        lower(category) in ('collision_vehicle', 'collision_vru', 'collision_static') as is_contact,
        lower(category) in (
            'collision_vehicle', 'collision_vru', 'collision_static', 'property_damage',
            'vru_fall_no_contact', 'severe_near_miss', 'public_safety_complaint'
        ) or police_report or injury as is_dangerous
    from incidents
)

select
    {{ utc_date('i.ts') }} as dt,
    i.incident_id,
    i.vehicle_id,
    i.ts,
    lower(i.category) as category,
    lower(i.at_fault) as at_fault,
    i.injury,
    i.police_report,
    i.description,
    i.is_contact,
    i.is_dangerous,
    i.is_dangerous and lower(i.at_fault) = 'ours' as is_dangerous_responsible,
    v.vehicle_class,
    v.site_id,
    v.city,
    h.route_id,
    h.road_type,
    h.version
from classified as i
left join vehicles as v on i.vehicle_id = v.vehicle_id
{{ asof_left_join('heartbeat', 'h', 'i.vehicle_id', 'vehicle_id', 'i.ts') }}
