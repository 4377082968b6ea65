-- Did version X (--vars "{version: vX.Y.Z}", default the newest release) change MPS significantly against
-- the baseline? Rate with its interval, rate ratio, exact conditional binomial p-value.
select
    version,
    baseline_version,
    event_count,
    exposure_km,
    rate_per_10k_km,
    ci_low,
    ci_high,
    baseline_rate_per_10k_km,
    rate_ratio,
    p_value,
    is_significant
from {{ ref('ads_version_compare') }}
where
    metric = 'mps'
    and version = {% if var('version', none) %}'{{ var("version") }}'{% else %}(
        select newest.version from {{ ref('software_versions') }} as newest
        order by newest.released_on desc, newest.version desc limit 1
    ){% endif %}
