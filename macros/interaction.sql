{#- Runs of qualifying 1 Hz seconds: rows of `relation` (vehicle_id, ts, max_gap_s, ...) numbered per vehicle
    so that seconds at most max_gap_s apart share a run_no (high-interaction triggers). -#}
{% macro second_runs(relation) -%}
    select
        *,
        sum(case when gap_s is null or gap_s > max_gap_s then 1 else 0 end)
            over (partition by vehicle_id order by ts rows unbounded preceding) as run_no
    from (
        select *, {{ seconds_between('lag(ts) over (partition by vehicle_id order by ts)', 'ts') }} as gap_s
        from {{ relation }}
    )
{%- endmacro %}
