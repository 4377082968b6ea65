{#- Runs (trigger semantics): rows of `relation` that satisfy a condition, numbered per vehicle so that
    consecutive samples at most max_gap_s apart (an expression; default the definition run_gap_s) share a run_no.
    Feed it only the satisfying samples: a failing sample in between leaves a gap of >= 2 sample periods, which
    starts a new run. -#}
{% macro numbered_runs(relation, partition_by='vehicle_id', max_gap_s=none) -%}
    select
        *,
        sum(case when gap_s is null or gap_s > {{ max_gap_s or definition('run', 'run_gap_s') }} then 1 else 0 end)
            over (partition by {{ partition_by }} order by ts rows unbounded preceding) as run_no
    from (
        select *, {{ seconds_between('lag(ts) over (partition by ' ~ partition_by ~ ' order by ts)', 'ts') }} as gap_s
        from {{ relation }}
    )
{%- endmacro %}

{#- Qualifying samples of `relation` (vehicle_id, site_id, ts and the trigger's columns) merged into events: runs
    as numbered_runs (max_gap_s as there), one row per run with vehicle_id, run_no, site_id, ts_start, ts_end,
    the run's sample count named `count_as` and the `aggregates` (output name: SQL aggregate, in order). -#}
{% macro merged_events(relation, count_as, aggregates, max_gap_s=none) -%}
    select
        vehicle_id,
        run_no,
        any_value(site_id) as site_id,
        min(ts) as ts_start,
        max(ts) as ts_end,
        count(*) as {{ count_as }}
        {%- for name, aggregate in aggregates.items() %},
        {{ aggregate }} as {{ name }}
        {%- endfor %}
    from ({{ numbered_runs(relation, max_gap_s=max_gap_s) }})
    group by vehicle_id, run_no
{%- endmacro %}

{#- Duration of a run of n samples [s]. -#}
{% macro run_duration_s(n_samples) -%}
    ({{ n_samples }} * {{ definition('run', 'sample_period_s') }})
{%- endmacro %}

{#- `duration_s >= threshold_s`, tolerant to the floating-point error of n x 0.1. -#}
{% macro lasts_at_least(duration_s, threshold_s) -%}
    ({{ duration_s }} >= {{ threshold_s }} - 1e-9)
{%- endmacro %}

{#- Sign-change events (weaving, output_jitter). `changes` holds one row per sign change with vehicle_id,
    site_id, ts, heading_rad (null when no heading check), min_sign_changes, window_s, max_net_heading_rad
    (null: no check) and severity. A change starts a qualifying span when the (min_sign_changes-1)-th next change is at
    most window_s later (and the heading between the two changed at most max_net_heading_rad). Changes
    covered by a qualifying span are kept; kept changes less than window_s apart form one event.
    Returns vehicle_id, site_id, severity, ts_start, ts_end, n_changes, max_abs_net_heading_rad. -#}
{% macro sign_change_events(changes) -%}
    with spans as (
        select
            *,
            {{ lead_by('ts', '(min_sign_changes - 1)::bigint', 'partition by vehicle_id order by ts') }} as span_end_ts,
            {{ lead_by('heading_rad', '(min_sign_changes - 1)::bigint', 'partition by vehicle_id order by ts') }}
                as span_end_heading_rad
        from {{ changes }}
    ),

    qualified as (
        select
            *,
            abs(atan2(sin(span_end_heading_rad - heading_rad), cos(span_end_heading_rad - heading_rad)))
                as net_heading_rad,
            case
                when span_end_ts is not null
                    and {{ seconds_between('ts', 'span_end_ts') }} <= window_s + 1e-9
                    and (
                        max_net_heading_rad is null
                        or abs(atan2(sin(span_end_heading_rad - heading_rad), cos(span_end_heading_rad - heading_rad)))
                            <= max_net_heading_rad
                    )
                then span_end_ts
            end as qualifying_end_ts
        from spans
    ),

    covered as (
        select *
        from (
            select
                *,
                max(qualifying_end_ts) over (partition by vehicle_id order by ts rows unbounded preceding)
                    as covered_until_ts
            from qualified
        )
        where covered_until_ts >= ts
    ),

    grouped as (
        select
            *,
            sum(case when prev_ts is null or {{ seconds_between('prev_ts', 'ts') }} >= window_s then 1 else 0 end)
                over (partition by vehicle_id order by ts rows unbounded preceding) as event_no
        from (select *, lag(ts) over (partition by vehicle_id order by ts) as prev_ts from covered)
    )

    select
        vehicle_id,
        any_value(site_id) as site_id,
        any_value(severity) as severity,
        min(ts) as ts_start,
        max(ts) as ts_end,
        count(*) as n_changes,
        max(case when qualifying_end_ts is not null then net_heading_rad end) as max_abs_net_heading_rad
    from grouped
    group by vehicle_id, event_no
{%- endmacro %}
