-- Business view per road type and day: km, time, average speed and autonomy rate (time and km).
with road_types as (
    select * from {{ ref('dws_road_type_1d') }}
    where {{ in_run_period('dt') }}
)

select
    dt::date as dt,
    road_type::string as road_type,
    n_vehicles::bigint as n_vehicles,
    (operating_s / 3600)::double as operating_h,
    (auto_s / 3600)::double as auto_h,
    km_total::double as km_total,
    km_auto::double as km_auto,
    autonomy_rate_time::double as autonomy_rate_time,
    autonomy_rate_km::double as autonomy_rate_km,
    avg_speed_kph::double as avg_speed_kph
from road_types
