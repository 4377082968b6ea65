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
    {{ threshold_constant(agg ~ '(value)', "trigger = '" ~ trigger ~ "' and parameter = '" ~ parameter ~ "'") }}
{%- endmacro %}

{#- The default ('*') value of one definition of seed trigger_definitions, for the parameters that do not vary
    by vehicle class: trigger 'run' (sampling and run semantics) and 'phantom' (what makes a perception object
    look like a phantom). -#}
{% macro definition(trigger, parameter) -%}
    {{ threshold_constant('value', "vehicle_class = '*' and trigger = '" ~ trigger ~ "' and parameter = '"
                                   ~ parameter ~ "'") }}
{%- endmacro %}

{#- One value of dwd_trigger_threshold (`select <expr> ... where <where>`) as a double literal, read when the
    node compiles (dbt compiles a node after its parents are built, so a seed edited in the same build counts).
    A literal and not a scalar subquery: DuckDB plans a subquery in a filter as a join whose cardinality
    estimate is 0, and every join above it then builds its hash table on the big side (20x slower on the
    planner samples). The subquery remains where nothing can be read: at parse, in unit tests (their fixtures
    give the thresholds), in an `--empty` build (its refs hold no rows; it builds the tables' types only) and
    before the table exists (an empty warehouse's compile). -#}
{% macro threshold_constant(expr, where) -%}
    {%- set thresholds = ref('dwd_trigger_threshold') -%}
    {%- set sql = 'select ' ~ expr ~ ' from ' ~ thresholds ~ ' where ' ~ where -%}
    {%- if execute and not is_unit_test() and not invocation_args_dict.get('empty')
        and adapter.get_relation(thresholds.database, thresholds.schema, thresholds.identifier) is not none -%}
        {%- set values = run_query(sql).columns[0].values() -%}
        {%- if values | length != 1 or values[0] is none -%}
            {{ exceptions.raise_compiler_error('no single trigger definition where ' ~ where
                                               ~ ' (seed trigger_definitions)') }}
        {%- endif -%}
        cast({{ values[0] }} as double)
    {%- else -%}
        ({{ sql }})
    {%- endif -%}
{%- endmacro %}
