-- The one-page fleet view per day: exposure, autonomy, MPS / MPD / MPI with exact Poisson intervals,
-- operations alerts and the case queue's size.
with fleet as (
    select * from {{ ref('dws_fleet_1d') }}
    where {{ in_run_period('dt') }}
),

cases as (
    select
        dt,
        count(*) as n_cases,
        count(*) filter (where action = 'raw_upload') as n_cases_raw_upload
    from {{ ref('dwd_case') }}
    where {{ in_run_period('dt') }}
    group by dt
)

select
    f.dt::date as dt,
    f.n_vehicles::bigint as n_vehicles,
    (f.operating_s / 3600)::double as operating_h,
    (f.auto_s / 3600)::double as auto_h,
    f.km_total::double as km_total,
    f.km_auto::double as km_auto,
    (f.km_remote + f.km_manual + f.km_fault)::double as km_non_auto,
    f.autonomy_rate_time::double as autonomy_rate_time,
    f.autonomy_rate_km::double as autonomy_rate_km,
    f.avg_speed_kph::double as avg_speed_kph,
    f.exposure_km::double as exposure_km,
    {{ rate_columns('mps', 'f.n_mps', 'f.km_total') }},  -- noqa: PRS
    {{ rate_columns('mpd_all', 'f.n_mpd_all', 'f.km_total') }},  -- noqa: PRS
    {{ rate_columns('mpd_resp', 'f.n_mpd_resp', 'f.km_total') }},  -- noqa: PRS
    {{ mpi_columns('f.n_takeover', 'f.km_total') }},  -- noqa: PRS
    f.n_hard_brake::bigint as n_hard_brake,
    f.n_stuck::bigint as n_stuck,
    f.n_offline::bigint as n_offline,
    f.n_site_anomaly::bigint as n_site_anomaly,
    coalesce(c.n_cases, 0)::bigint as n_cases,
    coalesce(c.n_cases_raw_upload, 0)::bigint as n_cases_raw_upload
from fleet as f
left join cases as c using (dt)
