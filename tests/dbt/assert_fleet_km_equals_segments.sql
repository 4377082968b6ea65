-- The fleet's daily km equal the sum of the drive-mode segments (nothing dropped by the rollups).
{{ config(meta={'dagster': {'ref': {'name': 'dws_fleet_1d'}}}) }}  -- its asset check's asset

with segments as (
    select dt, sum(distance_m) / 1000 as km from {{ ref('dwd_drive_mode_segment') }} group by dt
),

fleet as (
    select dt, km_total from {{ ref('dws_fleet_1d') }}
)

select coalesce(s.dt, f.dt) as dt, s.km, f.km_total
from segments as s
full outer join fleet as f using (dt)
where abs(coalesce(s.km, 0) - coalesce(f.km_total, 0)) > 1e-6
