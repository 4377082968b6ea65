{#- The bit test of one tag on dwd_second_tag: true on the seconds where the tag holds. The tag's word and mask
    are read from dim_tag when the query runs, so a tag added as a row of seed tag_definitions is usable after a
    rebuild; an unknown tag stops the compilation naming it. `relation` qualifies the word column (an alias).
    Example: select vehicle_id, ts_s from {{ source('dwd', 'dwd_second_tag') }} where {{ tag('rain') }} and {{ tag('night') }}
-#}
{% macro tag(name, relation=none) -%}
    {%- set tag_map = source('dwd', 'dim_tag') -%}
    {%- if execute -%}
        {%- set found = run_query("select word, bit from " ~ tag_map ~ " where tag = '" ~ name ~ "'") -%}
        {%- if found.rows | length == 0 -%}
            {{ exceptions.raise_compiler_error("unknown tag '" ~ name ~ "': not in " ~ tag_map) }}
        {%- endif -%}
        {%- set row = found.rows[0] -%}
        (({{ relation ~ '.' if relation }}w{{ row[0] }} & {{ 2 ** (row[1] | int) }}::UBIGINT) <> 0)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
