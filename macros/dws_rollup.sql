{#- A DWS rollup of dws_slice_1d to `dims` per `grain` (day | week | month; dt = first day of the period):
    exposure (operating and auto time, km by drive mode), autonomy rates, average speed, event counts by
    trigger and the rates MPS, MPD_all, MPD_resp per 10,000 km and MPI (km per takeover), each with its count
    and exposure_km (= km_total). Rows without the first dimension (site-wide events in a vehicle rollup)
    are left out. -#}
{% macro dws_rollup(dims, grain) -%}
{%- set counts = [] -%}
{%- for t in trigger_names() %}{% do counts.append('n_' ~ t) %}{% endfor -%}
{%- do counts.extend(['n_hard_brake_hard_or_severe', 'n_stuck_problem', 'n_mps', 'n_incidents', 'n_mpd_all', 'n_mpd_resp']) -%}
with slices as (
    select * from {{ ref('dws_slice_1d') }}
    where {{ in_run_period('dt', grain) }}
        {%- if dims %} and {{ dims[0] }} is not null{% endif %}
),

rolled as (
    select
        {{ period_start(grain, 'dt') }} as dt,
        {%- for d in dims %}
        {{ d }},
        {%- endfor %}
        count(distinct vehicle_id) filter (where operating_s > 0) as n_vehicles,
        count(distinct dt) as n_days,
        {%- for m in ['operating_s', 'auto_s', 'km_total', 'km_auto', 'km_remote', 'km_manual', 'km_fault', 'stuck_s', 'offline_s'] %}
        {{ exact_sum(m) }} as {{ m }},
        {%- endfor %}
        {%- for c in counts %}
        sum({{ c }})::bigint as {{ c }}{{ ',' if not loop.last }}
        {%- endfor %}
    from slices
    group by all
)

select
    *,
    auto_s / nullif(operating_s, 0) as autonomy_rate_time,
    km_auto / nullif(km_total, 0) as autonomy_rate_km,
    km_total / nullif(operating_s / 3600, 0) as avg_speed_kph,
    km_total as exposure_km,
    {{ per_10k_km('n_mps', 'km_total') }} as mps_per_10k_km,
    {{ per_10k_km('n_mpd_all', 'km_total') }} as mpd_all_per_10k_km,
    {{ per_10k_km('n_mpd_resp', 'km_total') }} as mpd_resp_per_10k_km,
    km_total / nullif(n_takeover, 0) as mpi_km
from rolled
{%- endmacro %}
