-- cut_in: an agent enters the ego lane just ahead. From the 1 Hz perception_summary and the pose sample of the
-- same second: at a second whose previous summary is exactly 1 s earlier, the lead object's track id differs from
-- the previous second's lead (or there was none), the new lead is closer than that lead, its track is at least
-- min_track_age_s old (it was tracked the second before, beside the ego lane, not just acquired), it moves along
-- the lane at >= min_lead_speed_mps (ego speed plus relative speed: a pedestrian crossing is not cutting in), and
-- it is within max_gap_m or closing with a time to collision <= max_ttc_s. One event per such second.
-- Why these observables: a vehicle uploads its lead's track id and track age, so a lead that changes identity
-- without being newly acquired came in from beside; without them a background car acquired close ahead
-- (coming into view, or a respawn in the simulator) looked like a cut-in.
with params as (
    {{ trigger_params('cut_in', ['max_gap_m', 'max_ttc_s', 'min_track_age_s', 'min_lead_speed_mps', 'severity']) }}
),

vehicles as (
    select vehicle_id, vehicle_class, site_id from {{ ref('dwd_vehicle') }}
),

summary as (
    select vehicle_id, ts, lead_class, lead_track_id, lead_track_age_s, lead_gap_m, lead_rel_speed_mps
    from {{ source('ods', 'ods_perception_summary') }}
    where {{ around_run_day('ts', 'dt') }}
),

pose as (
    select vehicle_id, ts, speed_mps
    from {{ source('ods', 'ods_pose') }}
    where {{ around_run_day('ts', 'dt') }}
),

sequenced as (
    select
        *,
        lag(ts) over w as prev_ts,
        lag(lead_track_id) over w as prev_lead_track_id,
        lag(lead_gap_m) over w as prev_lead_gap_m
    from summary
    window w as (partition by vehicle_id order by ts)
),

cut_ins as (
    select q.*, v.site_id, {{ star_except(['vehicle_class'], 'prm') }}
    from sequenced as q
    inner join pose as p on q.vehicle_id = p.vehicle_id and q.ts = p.ts
    left join vehicles as v on q.vehicle_id = v.vehicle_id
    inner join params as prm on coalesce(v.vehicle_class, '*') = prm.vehicle_class
    where
        q.lead_track_id is not null
        and q.prev_ts = q.ts - interval 1 second
        and q.lead_track_id is distinct from q.prev_lead_track_id
        and q.lead_track_age_s >= prm.min_track_age_s
        and (q.prev_lead_gap_m is null or q.lead_gap_m < q.prev_lead_gap_m)
        and p.speed_mps + q.lead_rel_speed_mps >= prm.min_lead_speed_mps
        and (
            q.lead_gap_m <= prm.max_gap_m
            or (q.lead_rel_speed_mps < 0 and q.lead_gap_m / -q.lead_rel_speed_mps <= prm.max_ttc_s)
        )
)

{{ trigger_events('cut_in', 'cut_ins', {
    'lead_class': 'lead_class',
    'lead_track_id': 'lead_track_id',
    'lead_gap_m': 'lead_gap_m',
    'lead_rel_speed_mps': 'lead_rel_speed_mps'}, ts_start='ts', ts_end='ts') }}
