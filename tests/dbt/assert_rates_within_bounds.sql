-- Autonomy rates lie in [0, 1]; every rate lies inside its own exact Poisson interval.
select dt, site_id
from {{ ref('ads_site_health_1d') }}
where autonomy_rate_time not between 0 and 1
    or autonomy_rate_km not between 0 and 1
    or mps_per_10k_km not between mps_ci_low and mps_ci_high
    or mpd_all_per_10k_km not between mpd_all_ci_low and mpd_all_ci_high
    or mpd_resp_per_10k_km not between mpd_resp_ci_low and mpd_resp_ci_high
    or n_mpd_resp > n_mpd_all
