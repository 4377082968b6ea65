{#- The columns `columns` (name -> DuckDB type) of a table of the scene tag store, the source `source_name`.
    The Dagster asset tag_store builds the store after the day's models and before the all-days models (the
    source gives Dagster that edge); a plain `dbt build` on a warehouse without the store (a fresh file, the
    lint's seeded file) reads the table as empty, says so in the log, and the rest of the build runs. -#}
{% macro scene_store_columns(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {{ log("warning: " ~ relation ~ " is not built (the tag store, fleetloop.mining.warehouse): read as empty",
               info=true) }}
        select
            {%- for name, type in columns.items() %}
                null::{{ type }} as {{ name }}{{ "," if not loop.last }}
            {%- endfor %}
        where false
    {%- else -%}
        select {{ columns.keys() | join(', ') }}
        from {{ relation }}
    {%- endif -%}
{%- endmacro %}
