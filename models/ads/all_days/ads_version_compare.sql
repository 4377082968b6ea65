-- Software versions compared over every built day: per version and metric (mps, mpd_all, mpd_resp,
-- takeover) the count, exposure, rate per 10,000 km with its exact Poisson 95% interval, and against the
-- baseline (the earliest release in seed software_versions) the rate ratio and the exact conditional
-- binomial test of the two counts given their exposures (significant when p < 0.05).
with versions as (
    select
        version,
        min(dt) as first_dt,
        max(dt) as last_dt,
        count(distinct dt) as n_days,
        sum(n_vehicles) as n_vehicle_days,
        {{ exact_sum('km_total') }} as exposure_km,
        sum(n_mps) as n_mps,
        sum(n_mpd_all) as n_mpd_all,
        sum(n_mpd_resp) as n_mpd_resp,
        sum(n_takeover) as n_takeover
    from {{ ref('dws_version_1d') }}
    group by version
),

baseline as (
    select version as baseline_version
    from {{ ref('software_versions') }}
    order by released_on, version
    limit 1
),

metrics as (
    {%- for metric in ['mps', 'mpd_all', 'mpd_resp', 'takeover'] %}
        select
            version, first_dt, last_dt, n_days, n_vehicle_days, exposure_km, '{{ metric }}' as metric,
            n_{{ metric }} as event_count
        from versions
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

compared as (
    select
        m.*,
        b.baseline_version,
        base.event_count as baseline_event_count,
        base.exposure_km as baseline_exposure_km
    from metrics as m
    cross join baseline as b
    left join metrics as base on b.baseline_version = base.version and m.metric = base.metric
),

tested as (
    select
        *,
        case
            when version != baseline_version and exposure_km > 0 and baseline_exposure_km > 0 then
                {{ binomial_two_sided_p('event_count', 'event_count + baseline_event_count',
                                        'exposure_km / (exposure_km + baseline_exposure_km)') }}
        end as p_value
    from compared
)

select
    version::string as version,
    metric::string as metric,
    (version = baseline_version)::boolean as is_baseline,
    baseline_version::string as baseline_version,
    first_dt::date as first_dt,
    last_dt::date as last_dt,
    n_days::bigint as n_days,
    n_vehicle_days::bigint as n_vehicle_days,
    exposure_km::double as exposure_km,
    event_count::bigint as event_count,
    {{ per_10k_km('event_count', 'exposure_km') }}::double as rate_per_10k_km,
    ({{ poisson_low('event_count') }} / nullif(exposure_km, 0) * 10000)::double as ci_low,  -- noqa: PRS, LT02
    ({{ poisson_high('event_count') }} / nullif(exposure_km, 0) * 10000)::double as ci_high,  -- noqa: PRS, LT02
    baseline_event_count::bigint as baseline_event_count,
    baseline_exposure_km::double as baseline_exposure_km,
    {{ per_10k_km('baseline_event_count', 'baseline_exposure_km') }}::double as baseline_rate_per_10k_km,
    (
        {{ per_10k_km('event_count', 'exposure_km') }}
        / nullif({{ per_10k_km('baseline_event_count', 'baseline_exposure_km') }}, 0)
    )::double as rate_ratio,
    p_value::double as p_value,
    coalesce(p_value < 0.05, false)::boolean as is_significant
from tested
