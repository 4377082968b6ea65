{#- The special functions and list folds the exact interval and test macros (macros/metrics.sql) need, per
    engine. Spark has no lgamma: ln Gamma(x) for x >= 1 by Stirling's series at x + 8 (terms to z^-9, absolute
    error below 1e-13) less ln(x (x + 1) ... (x + 7)). -#}
{% macro log_gamma(x) %}{{ return(adapter.dispatch('log_gamma')(x)) }}{% endmacro %}
{% macro duckdb__log_gamma(x) %}lgamma({{ x }}){% endmacro %}
{% macro spark__log_gamma(x) -%}
    {%- set z = '((' ~ x ~ ') + 8)' -%}
    (({{ z }} - 0.5) * ln({{ z }}) - {{ z }} + 0.9189385332046728
     + 1 / (12 * {{ z }}) - 1 / (360 * pow({{ z }}, 3)) + 1 / (1260 * pow({{ z }}, 5))
     - 1 / (1680 * pow({{ z }}, 7)) + 1 / (1188 * pow({{ z }}, 9))
     - ln({% for k in range(8) %}(({{ x }}) + {{ k }}){{ ' * ' if not loop.last }}{% endfor %}))
{%- endmacro %}

{#- `function` (a lambda of the accumulator and the element) folded over `list` from `initial`. -#}
{% macro list_fold(list, initial, function) %}{{ return(adapter.dispatch('list_fold')(list, initial, function)) }}{% endmacro %}
{% macro duckdb__list_fold(list, initial, function) %}list_reduce({{ list }}, {{ function }}, {{ initial }}){% endmacro %}
{% macro spark__list_fold(list, initial, function) %}aggregate({{ list }}, {{ initial }}, {{ function }}){% endmacro %}
