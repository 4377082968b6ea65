-- site_anomaly: per site and UTC-aligned window of window_s, active = vehicles with a 'driving' heartbeat;
-- stuck or crawling = active vehicles whose mean driving speed < crawl_speed_mps; fires when their count
-- >= min_vehicles and their share of the active vehicles >= min_share. Site-wide: vehicle_id is null.
with params as (
    select {{ star_except(['vehicle_class']) }}
    from (
        {{ trigger_params('site_anomaly', ['window_s', 'min_share', 'min_vehicles', 'crawl_speed_mps', 'severity']) }}
    )
    where vehicle_class = '*'
),

heartbeat as (
    select vehicle_id, site_id, ts, speed_mps
    from {{ ref('dwd_heartbeat') }}
    where {{ on_run_day('ts', 'dt') }} and task_status = 'driving'
),

per_vehicle as (
    select
        h.site_id,
        floor({{ epoch_s('h.ts') }} / p.window_s)::bigint as window_no,
        h.vehicle_id,
        {{ exact_sum('h.speed_mps') }} / count(h.speed_mps) as mean_speed_mps,
        any_value(p.crawl_speed_mps) as crawl_speed_mps
    from heartbeat as h
    cross join params as p
    group by all
),

per_site as (
    select
        site_id,
        window_no,
        count(*) as n_active,
        count(*) filter (where mean_speed_mps < crawl_speed_mps) as n_crawling
    from per_vehicle
    group by site_id, window_no
),

anomalies as (
    select
        s.*,
        s.n_crawling / s.n_active as crawling_share,
        {{ from_epoch_s('s.window_no * p.window_s') }} as ts_start,
        {{ from_epoch_s('(s.window_no + 1) * p.window_s') }} as ts_end,
        p.severity
    from per_site as s
    cross join params as p
    where s.n_crawling >= p.min_vehicles and s.n_crawling / s.n_active >= p.min_share
)

select
    {{ event_id("'site_anomaly'", 'null::string', 'site_id', 'ts_start') }} as event_id,
    {{ utc_date('ts_start') }} as dt,
    null::string as vehicle_id,
    site_id,
    'site_anomaly' as trigger,
    ts_start,
    ts_end,
    severity::integer as severity,
    {{ json_object_of([
        ('dt', utc_date('ts_start') ~ '::string'),
        ('active_vehicles', 'n_active'),
        ('crawling_vehicles', 'n_crawling'),
        ('crawling_share', 'crawling_share')]) }} as attributes
from anomalies
