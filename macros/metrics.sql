{#- The event triggers counted per trigger in DWS, alphabetically: the rows of seed trigger_catalog that
    have thresholds in seed trigger_definitions (the catalog's perception_suspect is a case flag). Read when
    the model compiles; empty while dbt parses (the refs make every caller depend on both seeds). -#}
{% macro trigger_names() -%}
    {%- set catalog, definitions = read_whole(ref('trigger_catalog')), read_whole(ref('trigger_definitions')) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- if adapter.get_relation(catalog.database, catalog.schema, catalog.identifier) is none -%}
        {{ exceptions.raise_compiler_error('seed trigger_catalog is not loaded: run `dbt seed` first') }}
    {%- endif -%}
    {%- set query -%}
        select c.trigger from {{ catalog }} as c
        semi join {{ definitions }} as d on d.trigger = c.trigger
        order by c.trigger
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#- MPS ("stupid" events): the events of the catalog's driving family (hard_brake, weaving, stuck), a hard brake
    only at tier hard or severe (DOMAIN.md: a mild brake is not a stupid event). -#}
{% macro is_mps_event(trigger_col='trigger', tier_col='tier') -%}
    ({{ trigger_col }} in (select c.trigger from {{ ref('trigger_catalog') }} as c where c.family = 'driving')
     and coalesce({{ tier_col }}, '') != 'mild')
{%- endmacro %}

{#- Events per 10,000 km; null without exposure. -#}
{% macro per_10k_km(count, km) -%}
    ({{ count }} / nullif({{ km }}, 0) * 10000)
{%- endmacro %}

{#- Quantile of the chi-square distribution with an even number of degrees of freedom df = 2n, exactly:
    P(chi2_2n <= x) = 1 - sum_{i<n} e^(-x/2) (x/2)^i / i!, solved by 12 Newton steps on y = x/2 from the
    Wilson-Hilferty start (normal quantile by Abramowitz-Stegun 26.2.23). Beyond n = 5000 Wilson-Hilferty
    alone (relative error < 1e-6 there). Null for df <= 0. -#}
{% macro chi2_ppf_even_df(p, df) -%}
    {%- set t = 'sqrt(-2 * ln(least(' ~ p ~ ', 1 - ' ~ p ~ ')))' -%}
    {%- set z = '(case when ' ~ p ~ ' < 0.5 then -1 else 1 end) * (' ~ t ~ ' - (2.515517 + 0.802853 * ' ~ t ~ ' + 0.010328 * ' ~ t ~ ' * ' ~ t ~ ') / (1 + 1.432788 * ' ~ t ~ ' + 0.189269 * ' ~ t ~ ' * ' ~ t ~ ' + 0.001308 * ' ~ t ~ ' * ' ~ t ~ ' * ' ~ t ~ '))' -%}
    {%- set n = '((' ~ df ~ ') / 2)' -%}
    {%- set wilson_hilferty = n ~ ' * pow(greatest(1 - 1 / (9 * ' ~ n ~ ') + ' ~ z ~ ' * sqrt(1 / (9 * ' ~ n ~ ')), 0.01), 3)' -%}
    {%- set poisson_cdf = list_total(list_map(int_range('0', n ~ '::bigint'),
                                                lambda_fn(['i'], 'exp(i * ln(y) - y - ' ~ log_gamma('i + 1') ~ ')'))) -%}
    {%- set newton_step = 'greatest(y - ((1 - ' ~ poisson_cdf ~ ') - (' ~ p ~ ')) / exp((' ~ n ~ ' - 1) * ln(y) - y - '
                          ~ log_gamma(n) ~ '), y / 10)' -%}
    (case
        when ({{ df }}) <= 0 then null
        when {{ n }} > 5000 then 2 * {{ wilson_hilferty }}
        else 2 * {{ list_fold(int_range('0', '12'), '(greatest(' ~ wilson_hilferty ~ ', 1e-6))::double',
                              lambda_fn(['y', 'step'], newton_step)) }}
    end)
{%- endmacro %}

{#- Exact (Garwood) 95% interval of a Poisson mean given k observed events. -#}
{% macro poisson_low(k) -%}
    (case when ({{ k }}) = 0 then 0.0 else {{ chi2_ppf_even_df('0.025', '2 * (' ~ k ~ ')') }} / 2 end)
{%- endmacro %}

{% macro poisson_high(k) -%}
    ({{ chi2_ppf_even_df('0.975', '2 * (' ~ k ~ ') + 2') }} / 2)
{%- endmacro %}

{#- Exact two-sided binomial test (as scipy.stats.binomtest): the probability of all outcomes no more likely
    than k successes out of n at success probability p. Used conditionally: given k1 + k0 events, k1 ~
    Binomial(k1 + k0, e1 / (e1 + e0)) under equal rates. -#}
{% macro binomial_two_sided_p(k, n, p) -%}
    {%- set pmf_i = 'exp(' ~ log_gamma('(' ~ n ~ ') + 1') ~ ' - ' ~ log_gamma('i + 1') ~ ' - ' ~ log_gamma('(' ~ n ~ ') - i + 1') ~ ' + i * ln(' ~ p ~ ') + ((' ~ n ~ ') - i) * ln(1 - (' ~ p ~ ')))' -%}
    {%- set pmf_k = 'exp(' ~ log_gamma('(' ~ n ~ ') + 1') ~ ' - ' ~ log_gamma('(' ~ k ~ ') + 1') ~ ' - ' ~ log_gamma('(' ~ n ~ ') - (' ~ k ~ ') + 1') ~ ' + (' ~ k ~ ') * ln(' ~ p ~ ') + ((' ~ n ~ ') - (' ~ k ~ ')) * ln(1 - (' ~ p ~ ')))' -%}
    (case
        when ({{ n }}) = 0 then 1.0
        else least(1.0, {{ list_total(list_where(
            list_map(int_range('0', '(' ~ n ~ ')::bigint + 1'), lambda_fn(['i'], pmf_i)),
            lambda_fn(['q'], 'q <= ' ~ pmf_k ~ ' * (1 + 1e-7)')
        )) }})
    end)
{%- endmacro %}

{#- A rate per 10,000 km with its count and exact Poisson 95% interval: n_<name>, <name>_per_10k_km,
    <name>_ci_low, <name>_ci_high. -#}
{% macro rate_columns(name, count, km) -%}
    ({{ count }})::bigint as n_{{ name }},
    {{ per_10k_km(count, km) }}::double as {{ name }}_per_10k_km,
    ({{ poisson_low(count) }} / nullif({{ km }}, 0) * 10000)::double as {{ name }}_ci_low,
    ({{ poisson_high(count) }} / nullif({{ km }}, 0) * 10000)::double as {{ name }}_ci_high
{%- endmacro %}

{#- MPI (km per takeover) with its count and the interval from the exact Poisson interval of the takeovers
    (no upper bound without takeovers). -#}
{% macro mpi_columns(n_takeover, km) -%}
    ({{ n_takeover }})::bigint as n_takeover,
    ({{ km }} / nullif({{ n_takeover }}, 0))::double as mpi_km,
    ({{ km }} / {{ poisson_high(n_takeover) }})::double as mpi_ci_low,
    ({{ km }} / nullif({{ poisson_low(n_takeover) }}, 0))::double as mpi_ci_high
{%- endmacro %}

{#- Sum of a double that is the same in any order, so that a rerun is bit-identical: each term as
    DECIMAL(38, 9) (nano-units of metres, seconds or km: more than the data carries), summed exactly, the total
    back to double. A plain float sum depends on how DuckDB's threads split the rows. `where` is an optional
    filter. -#}
{% macro exact_sum(expr, where=none) -%}
    (sum(({{ expr }})::decimal(38, 9)){% if where %} filter (where {{ where }}){% endif %})::double
{%- endmacro %}
