{#- The day a run builds: dbt's event-time window `--event-time-start D --event-time-end D+1` (one UTC day;
    none without it: every landed day). A run flag, not a var, so that a new day keeps dbt's partial parse
    (vars are part of the parse state, flags are not). Models keyed by dt rebuild that day only. Unit tests
    ignore it: their fixtures carry their own days, whatever day the build is for. -#}
{% macro run_date() -%}
    {%- if is_unit_test() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set start = invocation_args_dict.get('event_time_start') -%}
    {%- if not start -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set parse = modules.datetime.datetime.fromisoformat -%}
    {%- set first = parse(start | string) -%}
    {%- set span = parse(invocation_args_dict.get('event_time_end') | string) - first -%}
    {%- if span.total_seconds() != 86400 or first.time() != modules.datetime.time(0) -%}
        {{ exceptions.raise_compiler_error('a run builds one UTC day: --event-time-start D --event-time-end D+1, got '
                                           ~ start ~ ' .. ' ~ invocation_args_dict.get('event_time_end')) }}
    {%- endif -%}
    {{ return(first.date().isoformat()) }}
{%- endmacro %}

{#- True while dbt renders a unit test (whose fixtures stand for the warehouse). -#}
{% macro is_unit_test() -%}
    {{ return(model is defined and model is mapping and model.get('resource_type') == 'unit_test') }}
{%- endmacro %}

{% macro run_date_literal() -%}
    date '{{ run_date() }}'
{%- endmacro %}

{#- Start of the period (day | week | month) that holds the run day: the dt key of day/week/month tables. -#}
{% macro period_start(grain, expr) -%}
    {%- if grain == 'day' -%} ({{ expr }})::date
    {%- else -%} date_trunc('{{ grain }}', {{ expr }})::date
    {%- endif -%}
{%- endmacro %}

{#- Rows of the run period only (all rows without a run day). -#}
{% macro in_run_period(dt_col, grain='day') -%}
    {%- if run_date() -%}
        {{ period_start(grain, dt_col) }} = {{ period_start(grain, run_date_literal()) }}
    {%- else -%} true
    {%- endif -%}
{%- endmacro %}

{#- Rows around the run day: partitions dt +-1 day and timestamps within day_margin_s of the day, so that
    lags at 00:00 and runs crossing midnight are computed whole. -#}
{% macro around_run_day(ts_col, dt_col) -%}
    {%- set margin_s = definition('run', 'day_margin_s') -%}  {#- rendered always: dbt sees the ref at parse -#}
    {%- if run_date() -%}
        {{ dt_col }} between {{ run_date_literal() }} - 1 and {{ run_date_literal() }} + 1
        and {{ ts_col }} >= {{ day_start_ts(run_date_literal()) }} - {{ seconds_interval(margin_s) }}
        and {{ ts_col }} < {{ day_start_ts(run_date_literal()) }} + interval 1 day + {{ seconds_interval(margin_s) }}
    {%- else -%} true
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of incremental models that append (DuckDB's strategy; a no-op for tables, which hooks inherited from
    the layer reach too, and for insert_overwrite, Spark's, which replaces the partitions it writes itself):
    delete the run period (all rows without a run day), then the model appends it again. Re-running a day
    replaces it; nothing is counted twice. -#}
{% macro replace_run_period(grain='day') -%}
    {%- set existing = adapter.get_relation(this.database, this.schema, this.identifier) if execute else none -%}
    {%- if existing is not none and model.config.materialized == 'incremental'
        and model.config.incremental_strategy == 'append' and not should_full_refresh() -%}
        delete from {{ this }} where {{ in_run_period('dt', grain) }}
    {%- else -%} select 1
    {%- endif -%}
{%- endmacro %}

{#- Rows whose timestamp falls on the run day (partitions dt +-1 day are read: rows near midnight may sit
    in the neighbouring partition). All rows without a run day. -#}
{% macro on_run_day(ts_col, dt_col) -%}
    {%- if run_date() -%}
        {{ dt_col }} between {{ run_date_literal() }} - 1 and {{ run_date_literal() }} + 1
        and {{ utc_date(ts_col) }} = {{ run_date_literal() }}
    {%- else -%} true
    {%- endif -%}
{%- endmacro %}
