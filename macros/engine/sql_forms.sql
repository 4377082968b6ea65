{#- Query forms one engine spells differently (both have `qualify`, `filter (where ...)`, `group by all`,
    `semi join` and `anti join`). -#}

{#- Every column of `relation` (an alias, or none for the only one) but `columns`. -#}
{% macro star_except(columns, relation=none) %}{{ return(adapter.dispatch('star_except')(columns, relation)) }}{% endmacro %}
{% macro duckdb__star_except(columns, relation) -%}
    {{ relation ~ '.' if relation }}* exclude ({{ columns | join(', ') }})
{%- endmacro %}
{% macro spark__star_except(columns, relation) -%}
    {{ relation ~ '.' if relation }}* except ({{ columns | join(', ') }})
{%- endmacro %}

{#- The value of `value` at the row of the smallest `key` in a group. -#}
{% macro value_at_min(value, key) %}{{ return(adapter.dispatch('value_at_min')(value, key)) }}{% endmacro %}
{% macro duckdb__value_at_min(value, key) %}arg_min({{ value }}, {{ key }}){% endmacro %}
{% macro spark__value_at_min(value, key) %}min_by({{ value }}, {{ key }}){% endmacro %}

{#- A struct of named values (`fields`: a list of (name, expression)); structs compare field by field, so `min` of
    one is the row that is smallest in its fields' order, ties broken by the next field. -#}
{% macro struct_of(fields) %}{{ return(adapter.dispatch('struct_of')(fields)) }}{% endmacro %}
{% macro duckdb__struct_of(fields) -%}
    struct_pack({% for name, expr in fields %}{{ name }} := {{ expr }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
{% macro spark__struct_of(fields) -%}
    named_struct({% for name, expr in fields %}'{{ name }}', {{ expr }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- Integer division of integers, truncating (the operands here are never negative). -#}
{% macro int_div(a, b) %}{{ return(adapter.dispatch('int_div')(a, b)) }}{% endmacro %}
{% macro duckdb__int_div(a, b) %}{{ a }} // {{ b }}{% endmacro %}
{% macro spark__int_div(a, b) %}{{ a }} div {{ b }}{% endmacro %}

{#- `left join` of the row of `relation` (a CTE name) whose `ts` is the latest at or before `ts_left`, among the
    rows with the same `key` as `key_left` (DuckDB's asof join; Spark: each row stands for [ts, next ts)). -#}
{% macro asof_left_join(relation, alias, key_left, key, ts_left) -%}
    {{ return(adapter.dispatch('asof_left_join')(relation, alias, key_left, key, ts_left)) }}
{%- endmacro %}
{% macro duckdb__asof_left_join(relation, alias, key_left, key, ts_left) -%}
    asof left join {{ relation }} as {{ alias }}
    on {{ key_left }} = {{ alias }}.{{ key }} and {{ ts_left }} >= {{ alias }}.ts
{%- endmacro %}
{% macro spark__asof_left_join(relation, alias, key_left, key, ts_left) -%}
    left join (select *, lead(ts) over (partition by {{ key }} order by ts) as asof_until_ts from {{ relation }}) as {{ alias }}
        on {{ key_left }} = {{ alias }}.{{ key }}
        and {{ ts_left }} >= {{ alias }}.ts
        and ({{ alias }}.asof_until_ts is null or {{ ts_left }} < {{ alias }}.asof_until_ts)
{%- endmacro %}

{#- lead(value, offset) over (window) for an `offset` that varies by row (DuckDB takes any expression; Spark only a
    constant, so there the offset-th next value of the rest of the window's list; `value` is never null, or null
    throughout, since Spark's lists skip nulls). -#}
{% macro lead_by(value, offset, window) %}{{ return(adapter.dispatch('lead_by')(value, offset, window)) }}{% endmacro %}
{% macro duckdb__lead_by(value, offset, window) %}lead({{ value }}, {{ offset }}) over ({{ window }}){% endmacro %}
{% macro spark__lead_by(value, offset, window) -%}
    element_at(collect_list({{ value }}) over ({{ window }} rows between current row and unbounded following),
               cast({{ offset }} as integer) + 1)
{%- endmacro %}

{#- `union all by name` of `relations` (a list of (relation, its columns)): a column missing from a relation is
    null in its rows. -#}
{% macro union_all_by_name(relations) %}{{ return(adapter.dispatch('union_all_by_name')(relations)) }}{% endmacro %}
{% macro duckdb__union_all_by_name(relations) -%}
    {%- for relation, columns in relations %}
    select * from {{ relation }}
    {%- if not loop.last %}
    union all by name
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
{% macro spark__union_all_by_name(relations) -%}
    {%- set all_columns = [] -%}
    {%- for relation, columns in relations -%}
        {%- for c in columns if c not in all_columns %}{% do all_columns.append(c) %}{% endfor -%}
    {%- endfor -%}
    {%- for relation, columns in relations %}
    select {% for c in all_columns %}{{ c if c in columns else 'null as ' ~ c }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- Casts to the types that the engines name differently: a timestamp (DuckDB's TIMESTAMPTZ), a list of strings. -#}
{% macro as_timestamp(expr) %}{{ return(adapter.dispatch('as_timestamp')(expr)) }}{% endmacro %}
{% macro duckdb__as_timestamp(expr) %}{{ expr }}::timestamptz{% endmacro %}
{% macro spark__as_timestamp(expr) %}cast({{ expr }} as timestamp){% endmacro %}

{% macro as_text_list(expr) %}{{ return(adapter.dispatch('as_text_list')(expr)) }}{% endmacro %}
{% macro duckdb__as_text_list(expr) %}{{ expr }}::varchar[]{% endmacro %}
{% macro spark__as_text_list(expr) %}cast({{ expr }} as array<string>){% endmacro %}
