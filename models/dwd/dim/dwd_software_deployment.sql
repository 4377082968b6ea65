-- Which software version drives each vehicle when: validity intervals [valid_from, valid_to).
with deployments as (
    select * from {{ source('ods', 'ods_software_deployment') }}
),

deduplicated as (
    select vehicle_id, version, deployed_at
    from deployments
    qualify row_number() over (partition by vehicle_id, deployed_at order by ts desc, _loaded_at desc) = 1
)

select
    vehicle_id,
    version,
    deployed_at as valid_from,
    coalesce(
        lead(deployed_at) over (partition by vehicle_id order by deployed_at),
        {{ end_of_time() }}
    ) as valid_to
from deduplicated
