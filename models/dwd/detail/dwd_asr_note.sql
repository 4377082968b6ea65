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
        {{ sorted_set_agg('k.tag') }} as tags,
        {{ sorted_set_agg('k.keyword') }} as keywords,
        {{ sorted_set_agg('k.counts_toward') }} as counts_toward
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
    coalesce(h.tags, {{ empty_text_list() }}) as keyword_tags,
    coalesce(h.keywords, {{ empty_text_list() }}) as keywords,
    coalesce(h.counts_toward, {{ empty_text_list() }}) as counts_toward,
    v.site_id
from notes as n
left join hits as h
    on n.vehicle_id = h.vehicle_id and n.ts = h.ts and n.operator_id = h.operator_id
left join vehicles as v on n.vehicle_id = v.vehicle_id
