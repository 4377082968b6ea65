-- asr_keyword: one event per operator note with at least one keyword hit; attributes list the tags.
with params as (
    {{ trigger_params('asr_keyword', ['severity']) }}
),

notes as (
    select n.*, coalesce(v.vehicle_class, '*') as vehicle_class
    from {{ ref('dwd_asr_note') }} as n
    left join {{ ref('dwd_vehicle') }} as v on n.vehicle_id = v.vehicle_id
    where {{ in_run_period('n.dt') }} and {{ list_length('n.keyword_tags') }} > 0
)

select
    {{ event_id("'asr_keyword'", 'n.vehicle_id', 'n.site_id', 'n.ts') }} as event_id,
    n.dt,
    n.vehicle_id,
    n.site_id,
    'asr_keyword' as trigger,
    n.ts as ts_start,
    n.ts as ts_end,
    p.severity::integer as severity,
    {{ json_object_of([
        ('dt', 'n.dt::string'),
        ('tags', 'n.keyword_tags'),
        ('keywords', 'n.keywords'),
        ('counts_toward', 'n.counts_toward'),
        ('operator_id', 'n.operator_id'),
        ('takeover_id', 'n.takeover_id')]) }} as attributes
from notes as n
inner join params as p on n.vehicle_class = p.vehicle_class
