-- Tracked objects (case windows only) with their track lifetime and position relative to the ego pose
-- of the same 10 Hz tick: ahead_m along the ego heading, range_m; phantom-looking when the track lives
-- less than phantom_max_track_s or its confidence is below phantom_max_confidence.
with objects as (
    select * from {{ source('ods', 'ods_perception_objects') }}
    where {{ around_run_day('ts', 'dt') }}
),

tracks as (
    select
        *,
        {{ seconds_between('min(ts) over t', 'max(ts) over t') }} as track_lifetime_s,
        round({{ epoch_ms('ts') }} / ({{ definition('run', 'sample_period_s') }} * 1000))::bigint as tick
    from objects
    window t as (partition by vehicle_id, object_id)
),

object_ticks as (
    select distinct vehicle_id, tick from tracks
),

ego as (
    select p.vehicle_id, p.tick, p.x_m, p.y_m, p.heading_rad
    from (
        select
            vehicle_id,
            round({{ epoch_ms('ts') }} / ({{ definition('run', 'sample_period_s') }} * 1000))::bigint as tick,
            ts,
            x_m,
            y_m,
            heading_rad
        from {{ source('ods', 'ods_pose') }}
        where {{ around_run_day('ts', 'dt') }}
    ) as p
    semi join object_ticks as k on p.vehicle_id = k.vehicle_id and p.tick = k.tick
    qualify row_number() over (partition by p.vehicle_id, p.tick order by p.ts) = 1
)

select
    {{ utc_date('o.ts') }} as dt,
    o.vehicle_id,
    o.ts,
    o.object_id,
    lower(o.class) as object_class,
    o.x_m,
    o.y_m,
    o.confidence,
    o.track_lifetime_s,
    (o.x_m - e.x_m) * cos(e.heading_rad) + (o.y_m - e.y_m) * sin(e.heading_rad) as ahead_m,
    sqrt(power(o.x_m - e.x_m, 2) + power(o.y_m - e.y_m, 2)) as range_m,
    o.track_lifetime_s < {{ definition('phantom', 'max_track_s') }}
    or o.confidence < {{ definition('phantom', 'max_confidence') }} as is_phantom_looking
from tracks as o
left join ego as e on o.vehicle_id = e.vehicle_id and o.tick = e.tick
where {{ on_run_day('o.ts', 'o.dt') }}
