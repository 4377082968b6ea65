-- Yesterday's MPS / MPD / MPI per site with exact Poisson 95% intervals (the latest built day).
select
    dt,
    site_id,
    km_total,
    n_mps, mps_per_10k_km, mps_ci_low, mps_ci_high,
    n_mpd_all, mpd_all_per_10k_km, mpd_all_ci_low, mpd_all_ci_high,
    n_mpd_resp, mpd_resp_per_10k_km, mpd_resp_ci_low, mpd_resp_ci_high,
    n_takeover, mpi_km, mpi_ci_low, mpi_ci_high
from {{ ref('ads_site_health_1d') }}
where dt = (select max(latest.dt) from {{ ref('ads_site_health_1d') }} as latest)
order by site_id
