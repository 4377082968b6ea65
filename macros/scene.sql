{#- The columns `columns` (name -> type) of a table of the scene tag store, the source `source_name`.
    The Dagster asset tag_store builds the store after the day's models and before the all-days models (the
    source gives Dagster that edge). On DuckDB the store is in the warehouse file; a plain `dbt build` on a
    warehouse without the store (a fresh file, the lint's seeded file) reads the table as empty, says so in the
    log, and the rest of the build runs. On Spark the asset also writes the tables the project reads into the lake
    (`<lake>/scene/<table>/`, fleetloop.lake.scene_file), registered here as external Parquet tables with these
    columns: a lake without them reads as empty. -#}
{% macro scene_store_columns(source_name, table_name, columns) -%}
    {{ return(adapter.dispatch('scene_store_columns')(source_name, table_name, columns)) }}
{%- endmacro %}

{% macro default__scene_store_columns(source_name, table_name, columns) -%}
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

{% macro spark__scene_store_columns(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute -%}
        {%- set lake = run_query('set spark.fleetloop.lake').columns[1].values()[0] -%}
        {%- do run_query('create schema if not exists ' ~ relation.schema) -%}
        {%- do run_query('create table if not exists ' ~ relation ~ ' ('
                         ~ columns.items() | map('join', ' ') | join(', ') ~ ") using parquet location '"
                         ~ lake ~ '/scene/' ~ relation.identifier ~ "'") -%}
        {%- do run_query('refresh table ' ~ relation) -%}
    {%- endif -%}
    select {{ columns.keys() | join(', ') }}
    from {{ relation }}
{%- endmacro %}
