{#- event_id of one trigger firing: trigger, vehicle (or site for site-wide events) and start time. -#}
{% macro event_id(trigger_col, vehicle_col, site_col, ts_col) -%}
    {{ hashed_id('evt_', [trigger_col, 'coalesce(' ~ vehicle_col ~ ', ' ~ site_col ~ ')', epoch_ms(ts_col)]) }}
{%- endmacro %}

{#- The dwd_event rows of one trigger from `relation` (vehicle_id, site_id, the start and end columns, severity):
    event_id, dt, vehicle_id, site_id, trigger, ts_start, ts_end, severity (an expression) and attributes, the
    JSON of dt (the start's UTC day; first, or after the key `dt_after`) and `attributes` (key: SQL expression, in
    order). Only events that start on the run day and meet `where` (a condition, none for all). -#}
{% macro trigger_events(trigger, relation, attributes, ts_start='ts_start', ts_end='ts_end', severity='severity',
                        where=none, dt_after=none) -%}
    {%- set dt_pair = ('dt', utc_date(ts_start) ~ '::string') -%}
    {%- set pairs = [] if dt_after else [dt_pair] -%}
    {%- for key, expression in attributes.items() -%}
        {%- do pairs.append((key, expression)) -%}
        {%- if key == dt_after %}{% do pairs.append(dt_pair) %}{% endif -%}
    {%- endfor -%}
select
    {{ event_id("'" ~ trigger ~ "'", 'vehicle_id', 'site_id', ts_start) }} as event_id,
    {{ utc_date(ts_start) }} as dt,
    vehicle_id,
    site_id,
    '{{ trigger }}' as trigger,
    {{ ts_start }}{% if ts_start != 'ts_start' %} as ts_start{% endif %},
    {{ ts_end }}{% if ts_end != 'ts_end' %} as ts_end{% endif %},
    {{ severity }}::integer as severity,
    {{ json_object_of(pairs) }} as attributes
from {{ relation }}
where {% if where %}{{ where }} and {% endif %}{{ on_run_day(ts_start, utc_date(ts_start)) }}
{%- endmacro %}
