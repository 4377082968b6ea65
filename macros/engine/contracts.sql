{#- Enforced contracts on Spark: the ADS .yml files declare DuckDB's type names (the published file is DuckDB);
    on Spark the model's columns are checked against the same declaration under Spark's names for those types. -#}
{% macro spark__get_assert_columns_equivalent(sql) %}
    {%- set spark_names = {'varchar': 'string', 'timestamp with time zone': 'timestamp',
                           'varchar[]': 'array<string>', 'integer': 'int'} -%}
    {%- set actual, declared = [], [] -%}
    {%- for column in get_column_schema_from_query(sql) -%}
        {%- do actual.append((column.name, column.dtype | lower)) -%}
    {%- endfor -%}
    {%- for column in model['columns'].values() -%}
        {%- do declared.append((column['name'], spark_names.get(column['data_type'], column['data_type']))) -%}
    {%- endfor -%}
    {%- if actual != declared -%}
        {{ exceptions.raise_compiler_error('contract of ' ~ model['name'] ~ ' not met on Spark: declared ' ~ declared
                                           ~ ', the model returns ' ~ actual) }}
    {%- endif -%}
{% endmacro %}
