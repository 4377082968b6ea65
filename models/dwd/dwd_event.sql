-- The common event table: every trigger firing in one shape, with the vehicle's dimensions as of the event
-- start (class, city, route, road type, software version from the latest heartbeat at or before it; the
-- city of site-wide events from seed sites).
{%- set trigger_models = ['dwd_trg_hard_brake', 'dwd_trg_weaving', 'dwd_trg_stuck', 'dwd_trg_offline',
                          'dwd_trg_site_anomaly', 'dwd_trg_error_burst', 'dwd_trg_takeover',
                          'dwd_trg_vehicle_call', 'dwd_trg_asr_keyword', 'dwd_trg_uncertainty',
                          'dwd_trg_output_jitter'] %}
with events as (
    {%- for m in trigger_models %}
    select event_id, dt, vehicle_id, site_id, trigger, ts_start, ts_end, severity, attributes
    from {{ ref(m) }}
    where {{ in_run_period('dt') }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

sites as (
    select site_id, city from {{ ref('sites') }}
),

heartbeat as (
    select vehicle_id, ts, vehicle_class, city, route_id, road_type, version
    from {{ ref('dwd_heartbeat') }}
    where {{ around_run_day('ts', 'dt') }}
)

select
    e.event_id,
    e.dt,
    e.vehicle_id,
    e.site_id,
    e.trigger,
    e.ts_start,
    e.ts_end,
    e.severity,
    e.attributes,
    e.attributes ->> 'tier' as tier,
    {{ seconds_between('e.ts_start', 'e.ts_end') }} as duration_s,
    h.vehicle_class,
    coalesce(h.city, s.city) as city,
    h.route_id,
    h.road_type,
    h.version
from events as e
asof left join heartbeat as h
    on h.vehicle_id = e.vehicle_id and e.ts_start >= h.ts
left join sites as s on s.site_id = e.site_id
