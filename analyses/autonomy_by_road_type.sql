-- Autonomy rate (time and km), km and average speed by road type over all built days.
select
    road_type,
    sum(km_total) as km_total,
    sum(km_auto) / nullif(sum(km_total), 0) as autonomy_rate_km,
    sum(auto_h) / nullif(sum(operating_h), 0) as autonomy_rate_time,
    sum(km_total) / nullif(sum(operating_h), 0) as avg_speed_kph
from {{ ref('ads_road_type_1d') }}
group by road_type
order by km_total desc
