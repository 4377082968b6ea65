{#- Time arithmetic and epoch conversions per engine. DuckDB's timestamps are TIMESTAMPTZ, Spark's TIMESTAMP
    (local to the session time zone, which the profile pins to UTC); both count microseconds from the epoch. -#}

{#- Microseconds, milliseconds and (fractional) seconds since the epoch of a timestamp. -#}
{% macro epoch_us(ts) %}{{ return(adapter.dispatch('epoch_us')(ts)) }}{% endmacro %}
{% macro duckdb__epoch_us(ts) %}epoch_us({{ ts }}){% endmacro %}
{% macro spark__epoch_us(ts) %}unix_micros({{ ts }}){% endmacro %}

{% macro epoch_ms(ts) %}{{ return(adapter.dispatch('epoch_ms')(ts)) }}{% endmacro %}
{% macro duckdb__epoch_ms(ts) %}epoch_ms({{ ts }}){% endmacro %}
{% macro spark__epoch_ms(ts) %}unix_millis({{ ts }}){% endmacro %}

{% macro epoch_s(ts) %}{{ return(adapter.dispatch('epoch_s')(ts)) }}{% endmacro %}
{% macro duckdb__epoch_s(ts) %}epoch({{ ts }}){% endmacro %}
{% macro spark__epoch_s(ts) %}(unix_micros({{ ts }}) / 1e6){% endmacro %}

{#- The epoch second of a timestamp rounded to the nearest whole second, as an integer (DuckDB's
    `epoch(ts)::bigint`), the same on both engines. -#}
{% macro whole_epoch_s(ts) %}cast(round({{ epoch_s(ts) }}) as bigint){% endmacro %}

{#- The timestamp of an epoch second count. -#}
{% macro from_epoch_s(seconds) %}{{ return(adapter.dispatch('from_epoch_s')(seconds)) }}{% endmacro %}
{% macro duckdb__from_epoch_s(seconds) %}to_timestamp({{ seconds }}){% endmacro %}
{% macro spark__from_epoch_s(seconds) %}timestamp_seconds({{ seconds }}){% endmacro %}

{#- An interval of `seconds` (a number, fractions kept to the microsecond), to add to a timestamp. -#}
{% macro seconds_interval(seconds) %}{{ return(adapter.dispatch('seconds_interval')(seconds)) }}{% endmacro %}
{% macro duckdb__seconds_interval(seconds) %}to_seconds({{ seconds }}){% endmacro %}
{% macro spark__seconds_interval(seconds) %}make_dt_interval(0, 0, 0, {{ seconds }}){% endmacro %}

{#- A date (or date literal) as the timestamp of its midnight UTC. -#}
{% macro day_start_ts(day) %}{{ return(adapter.dispatch('day_start_ts')(day)) }}{% endmacro %}
{% macro duckdb__day_start_ts(day) %}{{ day }}::timestamptz{% endmacro %}
{% macro spark__day_start_ts(day) %}cast({{ day }} as timestamp){% endmacro %}

{#- The timestamp after every real one: the open end of a validity interval. -#}
{% macro end_of_time() %}{{ return(adapter.dispatch('end_of_time')()) }}{% endmacro %}
{% macro duckdb__end_of_time() %}timestamptz '9999-12-31 00:00:00+00'{% endmacro %}
{% macro spark__end_of_time() %}timestamp '9999-12-31 00:00:00'{% endmacro %}

{#- The UTC calendar day of a timestamp, independent of the session time zone (integer arithmetic on the
    epoch: several times faster than a time-zone conversion over 10 Hz data). -#}
{% macro utc_date(ts) %}{{ return(adapter.dispatch('utc_date')(ts)) }}{% endmacro %}
{% macro duckdb__utc_date(ts) -%}
    (date '1970-01-01' + (epoch_us({{ ts }}) // 86400000000)::integer)
{%- endmacro %}
{% macro spark__utc_date(ts) -%}
    date_from_unix_date(cast(floor(unix_micros({{ ts }}) / 86400000000) as integer))
{%- endmacro %}

{#- Seconds between two timestamps as a double. -#}
{% macro seconds_between(ts_from, ts_to) -%}
    ({{ epoch_us(ts_to) }} - {{ epoch_us(ts_from) }}) / 1e6
{%- endmacro %}

{#- The UTC time of day of a timestamp as HH:MM:SS. -#}
{% macro utc_time_of_day(ts) %}{{ return(adapter.dispatch('utc_time_of_day')(ts)) }}{% endmacro %}
{% macro duckdb__utc_time_of_day(ts) %}strftime({{ ts }} at time zone 'UTC', '%H:%M:%S'){% endmacro %}
{% macro spark__utc_time_of_day(ts) %}date_format({{ ts }}, 'HH:mm:ss'){% endmacro %}
