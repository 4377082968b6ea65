-- Event rates conditioned on scenes over every built day, so that "MPS at night in the rain at junctions" has
-- its exact interval: per scene (each tag of seed tag_definitions, each conjunction of tags of seed
-- scene_definitions, and all_seconds, the unconditioned rate), site and software version, the exposure (seconds,
-- hours and km in the seconds where the scene holds) and per metric (each event family of seed trigger_catalog,
-- and mps) the events starting in those seconds, with their rate per 10,000 km and its exact Poisson 95%
-- interval. A conjunction's exposure needs the per-second bitmaps, so the tag store computes the exposures and
-- the scenes of each event (sources dws.dws_tag_1d, dws.dws_scene_1d, dwd.dwd_event_scene) and this model
-- counts and rates them with the warehouse's own definitions (event families, MPS).
with tag_exposure as (
    {{ scene_store_columns('dws', 'dws_tag_1d', {'dt': 'date', 'tag': 'string', 'site_id': 'string',
                                                 'version': 'string', 'seconds': 'bigint', 'km': 'double'}) }}
),

scene_exposure as (
    {{ scene_store_columns('dws', 'dws_scene_1d', {'dt': 'date', 'scene_kind': 'string', 'scene': 'string',
                                                   'site_id': 'string', 'version': 'string', 'seconds': 'bigint',
                                                   'km': 'double'}) }}
),

event_scenes as (
    {{ scene_store_columns('dwd', 'dwd_event_scene', {'event_id': 'string', 'scene': 'string',
                                                      'site_id': 'string', 'version': 'string'}) }}
),

tag_map as (
    {{ scene_store_columns('dwd', 'dim_tag', {'tag': 'string', 'family': 'string', 'rule': 'string',
                                              'description': 'string'}) }}
),

scene_definitions as (
    select scene, query, description from {{ ref('scene_definitions') }}
),

events as (
    select event_id, trigger, tier from {{ ref('dwd_event') }}
),

catalog as (
    select trigger, family from {{ ref('trigger_catalog') }}
),

trigger_definitions as (
    select distinct trigger from {{ ref('trigger_definitions') }}
),

metrics as (
    select distinct c.family as metric
    from catalog as c
    semi join trigger_definitions as d on c.trigger = d.trigger
    union all
    select 'mps' as metric
),

exposure as (
    select 'tag' as scene_kind, tag as scene, site_id, version, dt, seconds, km from tag_exposure
    union all
    select scene_kind, scene, site_id, version, dt, seconds, km from scene_exposure
),

exposure_total as (
    select
        scene_kind,
        scene,
        site_id,
        version,
        min(dt) as first_dt,
        max(dt) as last_dt,
        count(distinct dt) as n_days,
        sum(seconds) as exposure_s,
        {{ exact_sum('km') }} as exposure_km
    from exposure
    group by all
),

scene_events as (
    select
        s.scene,
        s.site_id,
        s.version,
        k.family,
        {{ is_mps_event('e.trigger', 'e.tier') }} as is_mps
    from event_scenes as s
    inner join events as e on s.event_id = e.event_id
    left join catalog as k on e.trigger = k.trigger
),

counts as (
    select scene, site_id, version, family as metric, count(*) as event_count
    from scene_events
    group by all
    union all
    select scene, site_id, version, 'mps' as metric, count(*) filter (where is_mps) as event_count
    from scene_events
    group by all
),

rated as (
    select
        x.*,
        m.metric,
        t.family as tag_family,
        coalesce(n.event_count, 0) as event_count,
        coalesce(t.rule, d.query) as definition,
        coalesce(t.description, d.description, 'every second of the tag store') as description
    from exposure_total as x
    cross join metrics as m
    left join counts as n
        on x.scene = n.scene
        and x.site_id = n.site_id
        and x.version = n.version
        and m.metric = n.metric
    left join tag_map as t on x.scene_kind = 'tag' and x.scene = t.tag
    left join scene_definitions as d on x.scene_kind = 'scene' and x.scene = d.scene
)

select
    scene::string as scene,
    scene_kind::string as scene_kind,
    tag_family::string as tag_family,
    definition::string as definition,
    description::string as description,
    site_id::string as site_id,
    version::string as version,
    metric::string as metric,
    first_dt::date as first_dt,
    last_dt::date as last_dt,
    n_days::bigint as n_days,
    exposure_s::bigint as exposure_s,
    (exposure_s / 3600)::double as exposure_h,
    exposure_km::double as exposure_km,
    event_count::bigint as event_count,
    {{ per_10k_km('event_count', 'exposure_km') }}::double as rate_per_10k_km,
    ({{ poisson_low('event_count') }} / nullif(exposure_km, 0) * 10000)::double as ci_low,  -- noqa: PRS, LT02
    ({{ poisson_high('event_count') }} / nullif(exposure_km, 0) * 10000)::double as ci_high  -- noqa: PRS, LT02
from rated
