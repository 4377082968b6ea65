{#- Hashes per engine: the same hex digests on both (md5 of the same text), an engine-local hash where only
    equality matters. -#}

{#- Deterministic identifier: prefix || first 16 hex of md5 of the parts joined by '|' (timestamps as epoch ms). -#}
{% macro hashed_id(prefix, parts) %}{{ return(adapter.dispatch('hashed_id')(prefix, parts)) }}{% endmacro %}
{% macro duckdb__hashed_id(prefix, parts) -%}
    '{{ prefix }}' || left(md5(concat_ws('|', {{ parts | join(', ') }})), 16)
{%- endmacro %}
{% macro spark__hashed_id(prefix, parts) -%}
    concat('{{ prefix }}', left(md5(concat_ws('|'{% for p in parts %}, cast({{ p }} as string){% endfor %})), 16))
{%- endmacro %}

{#- A 64-bit hash of several values that differs when any differs (compared within one run, never stored). -#}
{% macro row_hash(parts) %}{{ return(adapter.dispatch('row_hash')(parts)) }}{% endmacro %}
{% macro duckdb__row_hash(parts) %}hash({{ parts | join(', ') }}){% endmacro %}
{% macro spark__row_hash(parts) %}xxhash64({{ parts | join(', ') }}){% endmacro %}
