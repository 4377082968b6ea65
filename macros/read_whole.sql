{#- A relation as a compile-time query reads it whole: `dbt build --empty` (the typing build of
    fleetloop.spark_tables) renders refs and sources as empty subqueries, which would empty the column lists that
    models read from seeds when they compile. -#}
{% macro read_whole(relation) -%}
    {{ return(api.Relation.create(database=relation.database, schema=relation.schema,
                                  identifier=relation.identifier)) }}
{%- endmacro %}
