{#- The ODS sources on Spark: the lake `<lake>/ods/<source>/dt=YYYY-MM-DD/*.parquet` (Hive partitioning, written
    by the loader) registered as external Parquet tables ods.ods_<source>, partitions discovered from the
    folders. Run at the start of every invocation (on-run-start), so that a day landed since the last run is
    read; only the sources that an enabled node reads are registered. The lake folder is the Spark setting
    spark.fleetloop.lake of the profile (fleetloop.spark.spark_conf): a constant of the installation, so a new
    day keeps dbt's partial parse. DuckDB reads its ODS from the warehouse file: nothing to do there. -#}
{% macro register_ods_lake() %}{{ return(adapter.dispatch('register_ods_lake')()) }}{% endmacro %}

{% macro default__register_ods_lake() %}{% endmacro %}

{% macro spark__register_ods_lake() %}
    {%- if execute -%}
        {%- set lake = run_query('set spark.fleetloop.lake').columns[1].values()[0] -%}
        {%- if not lake or lake == '<undefined>' -%}
            {{ exceptions.raise_compiler_error('the Spark profile sets no spark.fleetloop.lake (the ODS lake folder): '
                                               'write it with fleetloop.warehouse.write_dbt_profile') }}
        {%- endif -%}
        {%- set read = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- for dependency in node.depends_on.nodes
                if dependency.startswith('source.fleetloop.ods.') and dependency not in read -%}
                {%- do read.append(dependency) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- do run_query('create schema if not exists ods') -%}
        {%- for unique_id in read | sort -%}
            {%- set table = graph.sources[unique_id].identifier -%}
            {%- do run_query('create table if not exists ods.' ~ table ~ " using parquet location '"
                             ~ lake ~ '/ods/' ~ table[4:] ~ "'") -%}
            {%- do run_query('msck repair table ods.' ~ table) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
