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
