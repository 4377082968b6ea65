-- Site health per day: stuck minutes, offline alerts, site anomalies, autonomy rate, and the site's
-- MPS / MPD / MPI with exact Poisson intervals.
with sites as (
    select * from {{ ref('dws_site_1d') }}
    where {{ in_run_period('dt') }}
)

select
    dt::date as dt,
    site_id::string as site_id,
    city::string as city,
    n_vehicles::bigint as n_vehicles,
    (operating_s / 3600)::double as operating_h,
    km_total::double as km_total,
    autonomy_rate_time::double as autonomy_rate_time,
    autonomy_rate_km::double as autonomy_rate_km,
    avg_speed_kph::double as avg_speed_kph,
    (stuck_s / 60)::double as stuck_minutes,
    n_stuck::bigint as n_stuck,
    n_stuck_problem::bigint as n_stuck_problem,
    n_offline::bigint as n_offline_alerts,
    (offline_s / 60)::double as offline_minutes,
    n_site_anomaly::bigint as n_site_anomalies,
    exposure_km::double as exposure_km,
    {{ rate_columns('mps', 'n_mps', 'km_total') }},  -- noqa: PRS
    {{ rate_columns('mpd_all', 'n_mpd_all', 'km_total') }},  -- noqa: PRS
    {{ rate_columns('mpd_resp', 'n_mpd_resp', 'km_total') }},  -- noqa: PRS
    {{ mpi_columns('n_takeover', 'km_total') }}  -- noqa: PRS
from sites
