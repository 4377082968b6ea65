{#- One row per vehicle class with the named parameters of one trigger as columns (from dwd_trigger_threshold). -#}
{% macro trigger_params(trigger, parameters) -%}
    select
        vehicle_class
        {%- for p in parameters %},
        max(value) filter (where parameter = '{{ p }}') as {{ p }}
        {%- endfor %}
    from {{ ref('dwd_trigger_threshold') }}
    where trigger = '{{ trigger }}'
    group by vehicle_class
{%- endmacro %}

{#- The loosest value of one trigger parameter over all vehicle classes (agg = min | max): a scan filter that
    keeps every candidate sample of every class before the exact per-class condition. -#}
{% macro loosest_param(trigger, parameter, agg) -%}
    (select {{ agg }}(value) from {{ ref('dwd_trigger_threshold') }}
     where trigger = '{{ trigger }}' and parameter = '{{ parameter }}')
{%- endmacro %}

{#- The default ('*') value of one definition of seed trigger_definitions as a scalar subquery, for the
    parameters that do not vary by vehicle class: trigger 'run' (sampling and run semantics) and 'phantom'
    (what makes a perception object look like a phantom). -#}
{% macro definition(trigger, parameter) -%}
    (select value from {{ ref('dwd_trigger_threshold') }}
     where vehicle_class = '*' and trigger = '{{ trigger }}' and parameter = '{{ parameter }}')
{%- endmacro %}
