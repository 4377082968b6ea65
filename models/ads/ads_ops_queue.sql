-- Tonight's operations queue: triggers that are not driving problems (seeds/trigger_catalog.csv action
-- 'ops_ticket': offline, error_burst, site_anomaly, call_guard) become tickets for operations instead of
-- replays, since no alternative trajectory fixes a connectivity gap, a module's error codes or a site-wide jam.
-- One ticket per case for its operations events (the case's dt), and one per site-wide event (site_anomaly has
-- no vehicle and makes no case). A case that also has a counterfactual trigger is in ads_case_queue for that
-- one (also_queued: replayed, or raw upload when perception suspect) and ticketed here for the rest.
-- ticket_id = 'ops_' || first 16 hex of md5('case' || '|' || case_id), or of md5('event' || '|' || event_id).
with catalog as (
    select trigger, action from {{ ref('trigger_catalog') }}
),

cases as (
    select case_id, dt, vehicle_id, site_id, triggers, event_ids
    from {{ ref('dwd_case') }}
    where {{ in_run_period('dt') }}
),

events as (
    select event_id, dt, vehicle_id, site_id, trigger, ts_start, ts_end, severity, attributes
    from {{ ref('dwd_event') }}
    where {{ around_run_day('ts_start', 'dt') }}
),

ops_events as (
    select
        e.*,
        e.trigger || ' at ' || {{ utc_time_of_day('e.ts_start') }} || ' ' || {{ json_without_dt('e.attributes') }}
            as label
    from events as e
    inner join catalog as k on e.trigger = k.trigger and k.action = 'ops_ticket'
),

case_replayable as (
    select t.case_id, bool_or(k.action != 'ops_ticket') as also_queued
    from (select case_id, {{ unnest_list('triggers') }} as trigger from cases) as t
    left join catalog as k using (trigger)
    group by t.case_id
),

case_tickets as (
    select
        {{ hashed_id('ops_', ["'case'", 'c.case_id']) }} as ticket_id,
        c.dt,
        c.case_id,
        c.vehicle_id,
        c.site_id,
        {{ sorted_set_agg('e.trigger') }} as triggers,
        min(e.ts_start) as ts_start,
        max(e.ts_end) as ts_end,
        count(*) as n_events,
        max(e.severity) as severity,
        coalesce(any_value(r.also_queued), false) as also_queued,
        {{ ordered_list_agg('e.label', ['e.ts_start', 'e.event_id']) }} as labels
    from (select case_id, dt, vehicle_id, site_id, {{ unnest_list('event_ids') }} as event_id from cases) as c
    inner join ops_events as e using (event_id)
    left join case_replayable as r using (case_id)
    group by c.case_id, c.dt, c.vehicle_id, c.site_id
),

site_tickets as (
    select
        {{ hashed_id('ops_', ["'event'", 'event_id']) }} as ticket_id,
        dt,
        null as case_id,
        null as vehicle_id,
        site_id,
        {{ list_of('trigger') }} as triggers,
        ts_start,
        ts_end,
        1 as n_events,
        severity,
        false as also_queued,
        {{ list_of('label') }} as labels
    from ops_events
    where vehicle_id is null and {{ in_run_period('dt') }}
),

tickets as (
    select * from case_tickets
    union all
    select * from site_tickets
)

select
    ticket_id::string as ticket_id,
    dt::date as dt,
    case_id::string as case_id,
    vehicle_id::string as vehicle_id,
    site_id::string as site_id,
    {{ as_text_list('triggers') }} as triggers,
    {{ as_timestamp('ts_start') }} as ts_start,
    {{ as_timestamp('ts_end') }} as ts_end,
    n_events::bigint as n_events,
    severity::integer as severity,
    also_queued::boolean as also_queued,
    concat_ws(
        '; ',
        {{ list_join('labels', "'; '") }},
        'severity ' || severity,
        case when also_queued then 'the case is also in ads_case_queue for its other triggers' end
    )::string as reason
from tickets
