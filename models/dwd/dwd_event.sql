-- The common event table: every trigger firing in one shape, with the vehicle's dimensions as of the event
-- start (class, city, route, road type, software version from the latest heartbeat at or before it; the
-- city of site-wide events from seed sites). The triggers are those of seed trigger_catalog (tested by
-- assert_every_trigger_in_catalog); the union reads every model of models/dwd/trigger/, listed here because
-- dbt resolves refs before any data exists, and checked against that folder when the model compiles.
{%- set trigger_models = ['dwd_trg_asr_keyword', 'dwd_trg_cut_in', 'dwd_trg_dense_mixed_traffic',
                          'dwd_trg_error_burst', 'dwd_trg_hard_brake', 'dwd_trg_offline', 'dwd_trg_output_jitter',
                          'dwd_trg_site_anomaly', 'dwd_trg_stuck', 'dwd_trg_takeover', 'dwd_trg_uncertainty',
                          'dwd_trg_unprotected_left', 'dwd_trg_vehicle_call', 'dwd_trg_weaving'] %}
{%- if execute %}
    {%- set in_folder = [] %}
    {%- for node in graph.nodes.values() if node.resource_type == 'model'
        and node.original_file_path.startswith('models/dwd/trigger/') %}
        {%- do in_folder.append(node.name) %}
    {%- endfor %}
    {%- if in_folder | sort != trigger_models %}
        {{ exceptions.raise_compiler_error('dwd_event reads ' ~ trigger_models ~ ' but models/dwd/trigger/ holds '
                                           ~ in_folder) }}
    {%- endif %}
{%- endif %}
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
    {{ json_text('e.attributes', 'tier') }} as tier,
    {{ seconds_between('e.ts_start', 'e.ts_end') }} as duration_s,
    h.vehicle_class,
    coalesce(h.city, s.city) as city,
    h.route_id,
    h.road_type,
    h.version
from events as e
{{ asof_left_join('heartbeat', 'h', 'e.vehicle_id', 'vehicle_id', 'e.ts_start') }}
left join sites as s on e.site_id = s.site_id
