{#- JSON objects per engine: built from (key, SQL expression) pairs, keys in order and null values kept; one key
    read back as text. -#}
{% macro json_object_of(pairs) %}{{ return(adapter.dispatch('json_object_of')(pairs)) }}{% endmacro %}
{% macro duckdb__json_object_of(pairs) -%}
    json_object(
        {%- for key, expression in pairs %}
        '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
{% macro spark__json_object_of(pairs) -%}
    to_json(named_struct(
        {%- for key, expression in pairs %}
        '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    ), map('ignoreNullFields', 'false'))
{%- endmacro %}

{% macro json_text(json, key) %}{{ return(adapter.dispatch('json_text')(json, key)) }}{% endmacro %}
{% macro duckdb__json_text(json, key) %}{{ json }} ->> '{{ key }}'{% endmacro %}
{% macro spark__json_text(json, key) %}get_json_object({{ json }}, '$.{{ key }}'){% endmacro %}

{#- The attributes of an event (macro json_object_of) without their dt key, as text (on Spark: the key and its
    comma cut out of the text, since dt is a date string and never the last key). -#}
{% macro json_without_dt(json) %}{{ return(adapter.dispatch('json_without_dt')(json)) }}{% endmacro %}
{% macro duckdb__json_without_dt(json) %}json_merge_patch({{ json }}, '{"dt": null}')::varchar{% endmacro %}
{% macro spark__json_without_dt(json) %}regexp_replace({{ json }}, '"dt":"[0-9-]*",', ''){% endmacro %}
