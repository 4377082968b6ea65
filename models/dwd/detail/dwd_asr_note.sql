-- Operator notes with the keyword dictionary's hits (zh substring; en case-insensitive substring).
with notes as (
    select * from {{ source('ods', 'ods_asr_note') }}
    where {{ on_run_day('ts', 'dt') }}
),

keywords as (
    select * from {{ ref('asr_keywords') }}
),

vehicles as (
    select vehicle_id, site_id from {{ ref('dwd_vehicle') }}
),

hits as (
    select
        n.vehicle_id,
        n.ts,
        n.operator_id,
        list_sort(list_distinct(list(k.tag))) as tags,
        list_sort(list_distinct(list(k.keyword))) as keywords,
        list_sort(list_distinct(list(k.counts_toward))) as counts_toward
    from notes as n
    inner join keywords as k
        on (k.language = 'en' and contains(lower(n.text), lower(k.keyword)))
        or (k.language != 'en' and contains(n.text, k.keyword))
    group by n.vehicle_id, n.ts, n.operator_id
)

select
    {{ utc_date('n.ts') }} as dt,
    n.vehicle_id,
    n.ts,
    n.operator_id,
    n.takeover_id,
    n.text,
    coalesce(h.tags, []::varchar[]) as keyword_tags,
    coalesce(h.keywords, []::varchar[]) as keywords,
    coalesce(h.counts_toward, []::varchar[]) as counts_toward,
    v.site_id
from notes as n
left join hits as h
    on n.vehicle_id = h.vehicle_id and n.ts = h.ts and n.operator_id = h.operator_id
left join vehicles as v on n.vehicle_id = v.vehicle_id
