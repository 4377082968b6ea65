{#- The UTC calendar day of a TIMESTAMPTZ, independent of the session time zone (integer arithmetic on the
    epoch: several times faster than a time-zone conversion over 10 Hz data). -#}
{% macro utc_date(ts) -%}
    (date '1970-01-01' + (epoch_us({{ ts }}) // 86400000000)::integer)
{%- endmacro %}

{#- Seconds between two timestamps as a double. -#}
{% macro seconds_between(ts_from, ts_to) -%}
    (epoch_us({{ ts_to }}) - epoch_us({{ ts_from }})) / 1e6
{%- endmacro %}

{#- Deterministic identifier: prefix || first 16 hex of md5 of the parts joined by '|' (timestamps as epoch ms). -#}
{% macro hashed_id(prefix, parts) -%}
    '{{ prefix }}' || left(md5(concat_ws('|', {{ parts | join(', ') }})), 16)
{%- endmacro %}

{#- event_id of one trigger firing: trigger, vehicle (or site for site-wide events) and start time. -#}
{% macro event_id(trigger_col, vehicle_col, site_col, ts_col) -%}
    {{ hashed_id('evt_', [trigger_col, 'coalesce(' ~ vehicle_col ~ ', ' ~ site_col ~ ')', 'epoch_ms(' ~ ts_col ~ ')']) }}
{%- endmacro %}
