-- error_burst: >= min_codes codes of one module of one vehicle within window_s (the code and the
-- (min_codes-1)-th next one of that module at most window_s apart); overlapping bursts merge.
with params as (
    {{ trigger_params('error_burst', ['min_codes', 'window_s', 'severity']) }}
),

codes as (
    select e.vehicle_id, e.site_id, e.ts, e.module, coalesce(v.vehicle_class, '*') as vehicle_class
    from {{ ref('dwd_error_code') }} as e
    left join {{ ref('dwd_vehicle') }} as v on e.vehicle_id = v.vehicle_id
    where {{ around_run_day('e.ts', 'e.dt') }}
),

bursts as (
    select *
    from (
        select
            codes.*,
            {{ star_except(['vehicle_class'], 'params') }},
            {{ lead_by('codes.ts', '(params.min_codes - 1)::bigint',
                       'partition by codes.vehicle_id, codes.module order by codes.ts') }} as burst_end_ts
        from codes
        inner join params using (vehicle_class)
    )
    where burst_end_ts is not null and {{ seconds_between('ts', 'burst_end_ts') }} <= window_s + 1e-9
),

merged as (
    select
        *,
        sum(case when ts <= prev_end_ts then 0 else 1 end)
            over (partition by vehicle_id, module order by ts rows unbounded preceding) as burst_no
    from (
        select
            *,
            max(burst_end_ts) over (
                partition by vehicle_id, module order by ts rows between unbounded preceding and 1 preceding
            ) as prev_end_ts
        from bursts
    )
),

events as (
    select
        vehicle_id,
        module,
        any_value(site_id) as site_id,
        any_value(severity) as severity,
        min(ts) as ts_start,
        max(burst_end_ts) as ts_end
    from merged
    group by vehicle_id, module, burst_no
),

counted as (
    select e.*, count(c.ts) as n_codes
    from events as e
    left join codes as c
        on e.vehicle_id = c.vehicle_id and e.module = c.module and c.ts between e.ts_start and e.ts_end
    group by all
)

select
    {{ event_id("'error_burst:' || module", 'vehicle_id', 'site_id', 'ts_start') }} as event_id,
    {{ utc_date('ts_start') }} as dt,
    vehicle_id,
    site_id,
    'error_burst' as trigger,
    ts_start,
    ts_end,
    severity::integer as severity,
    {{ json_object_of([
        ('dt', utc_date('ts_start') ~ '::string'),
        ('module', 'module'),
        ('codes', 'n_codes'),
        ('duration_s', seconds_between('ts_start', 'ts_end'))]) }} as attributes
from counted
where {{ on_run_day('ts_start', utc_date('ts_start')) }}
