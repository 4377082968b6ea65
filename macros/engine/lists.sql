{#- List (array) functions per engine. DuckDB writes lambdas `lambda x: body`, Spark `x -> body`; DuckDB's
    range(a, b) excludes b and is empty when b <= a, Spark's sequence(a, b) includes b and counts down. -#}

{#- A lambda of `params` (a list of names) returning `body`. -#}
{% macro lambda_fn(params, body) %}{{ return(adapter.dispatch('lambda_fn')(params, body)) }}{% endmacro %}
{% macro duckdb__lambda_fn(params, body) %}lambda {{ params | join(', ') }}: {{ body }}{% endmacro %}
{% macro spark__lambda_fn(params, body) -%}
    {{ params[0] if params | length == 1 else '(' ~ params | join(', ') ~ ')' }} -> {{ body }}
{%- endmacro %}

{#- The integers lo, lo + 1, ..., hi - 1 as a list (empty when hi <= lo). -#}
{% macro int_range(lo, hi) %}{{ return(adapter.dispatch('int_range')(lo, hi)) }}{% endmacro %}
{% macro duckdb__int_range(lo, hi) %}range({{ lo }}, {{ hi }}){% endmacro %}
{% macro spark__int_range(lo, hi) -%}
    (case when ({{ hi }}) > ({{ lo }}) then sequence(cast({{ lo }} as bigint), cast(({{ hi }}) - 1 as bigint))
     else cast(array() as array<bigint>) end)
{%- endmacro %}

{#- One row per element of a list (in a select list). -#}
{% macro unnest_list(list) %}{{ return(adapter.dispatch('unnest_list')(list)) }}{% endmacro %}
{% macro duckdb__unnest_list(list) %}unnest({{ list }}){% endmacro %}
{% macro spark__unnest_list(list) %}explode({{ list }}){% endmacro %}

{#- The sorted distinct non-null values of `expr` over a group. -#}
{% macro sorted_set_agg(expr) %}{{ return(adapter.dispatch('sorted_set_agg')(expr)) }}{% endmacro %}
{% macro duckdb__sorted_set_agg(expr) %}list_sort(list_distinct(list({{ expr }}))){% endmacro %}
{% macro spark__sorted_set_agg(expr) %}array_sort(array_distinct(collect_list({{ expr }}))){% endmacro %}

{#- A list's length, sum, maximum; its elements for which `predicate` (a lambda) holds; each mapped by a lambda;
    whether it holds `value`. -#}
{% macro list_length(list) %}{{ return(adapter.dispatch('list_length')(list)) }}{% endmacro %}
{% macro duckdb__list_length(list) %}len({{ list }}){% endmacro %}
{% macro spark__list_length(list) %}size({{ list }}){% endmacro %}

{% macro list_total(list) %}{{ return(adapter.dispatch('list_total')(list)) }}{% endmacro %}
{% macro duckdb__list_total(list) %}list_sum({{ list }}){% endmacro %}
{% macro spark__list_total(list) -%}
    aggregate({{ list }}, cast(0 as double), (acc, x) -> acc + x)
{%- endmacro %}

{% macro list_maximum(list) %}{{ return(adapter.dispatch('list_maximum')(list)) }}{% endmacro %}
{% macro duckdb__list_maximum(list) %}list_max({{ list }}){% endmacro %}
{% macro spark__list_maximum(list) %}array_max({{ list }}){% endmacro %}

{% macro list_where(list, predicate) %}{{ return(adapter.dispatch('list_where')(list, predicate)) }}{% endmacro %}
{% macro duckdb__list_where(list, predicate) %}list_filter({{ list }}, {{ predicate }}){% endmacro %}
{% macro spark__list_where(list, predicate) %}filter({{ list }}, {{ predicate }}){% endmacro %}

{% macro list_map(list, function) %}{{ return(adapter.dispatch('list_map')(list, function)) }}{% endmacro %}
{% macro duckdb__list_map(list, function) %}list_transform({{ list }}, {{ function }}){% endmacro %}
{% macro spark__list_map(list, function) %}transform({{ list }}, {{ function }}){% endmacro %}

{% macro list_has(list, value) %}{{ return(adapter.dispatch('list_has')(list, value)) }}{% endmacro %}
{% macro duckdb__list_has(list, value) %}list_contains({{ list }}, {{ value }}){% endmacro %}
{% macro spark__list_has(list, value) %}array_contains({{ list }}, {{ value }}){% endmacro %}

{#- An empty list of strings. -#}
{% macro empty_text_list() %}{{ return(adapter.dispatch('empty_text_list')()) }}{% endmacro %}
{% macro duckdb__empty_text_list() %}[]::varchar[]{% endmacro %}
{% macro spark__empty_text_list() %}cast(array() as array<string>){% endmacro %}

{#- The values of `expr` over a group (the rows where `where` holds, if given), sorted, duplicates kept; when no
    row is left null on DuckDB and empty on Spark (callers coalesce). -#}
{% macro sorted_list_agg(expr, where=none) %}{{ return(adapter.dispatch('sorted_list_agg')(expr, where)) }}{% endmacro %}
{% macro duckdb__sorted_list_agg(expr, where) -%}
    list_sort(list({{ expr }}){% if where %} filter (where {{ where }}){% endif %})
{%- endmacro %}
{% macro spark__sorted_list_agg(expr, where) -%}
    array_sort(collect_list({{ expr }}){% if where %} filter (where {{ where }}){% endif %})
{%- endmacro %}

{#- A list of strings joined by `separator`. -#}
{% macro list_join(list, separator) %}{{ return(adapter.dispatch('list_join')(list, separator)) }}{% endmacro %}
{% macro duckdb__list_join(list, separator) %}array_to_string({{ list }}, {{ separator }}){% endmacro %}
{% macro spark__list_join(list, separator) %}array_join({{ list }}, {{ separator }}){% endmacro %}

{#- The values of `expr` over a group in the order of `order_by` (a list of expressions, ascending). -#}
{% macro ordered_list_agg(expr, order_by) %}{{ return(adapter.dispatch('ordered_list_agg')(expr, order_by)) }}{% endmacro %}
{% macro duckdb__ordered_list_agg(expr, order_by) %}list({{ expr }} order by {{ order_by | join(', ') }}){% endmacro %}
{% macro spark__ordered_list_agg(expr, order_by) -%}
    transform(
        array_sort(collect_list(named_struct({% for o in order_by %}'k{{ loop.index }}', {{ o }}, {% endfor %}'v', {{ expr }}))),
        s -> s.v
    )
{%- endmacro %}

{#- A one-element list. -#}
{% macro list_of(expr) %}{{ return(adapter.dispatch('list_of')(expr)) }}{% endmacro %}
{% macro duckdb__list_of(expr) %}[{{ expr }}]{% endmacro %}
{% macro spark__list_of(expr) %}array({{ expr }}){% endmacro %}

{#- The list of the parts of `text` between the occurrences of the one-character `separator`. -#}
{% macro split_text(text, separator) %}{{ return(adapter.dispatch('split_text')(text, separator)) }}{% endmacro %}
{% macro duckdb__split_text(text, separator) %}string_split({{ text }}, '{{ separator }}'){% endmacro %}
{% macro spark__split_text(text, separator) %}split({{ text }}, '[{{ separator }}]'){% endmacro %}
