-- The lane map (seed lane_points) rasterised into square cells of the site frame: each lane's quad between two
-- consecutive points (left and right bounds) is sampled every half metre along and across, and a cell takes
-- the road type most of its sample points carry (ties: the first road type by name). Pose positions find
-- their road type by an equi-join on (site_id, cell_x, cell_y).
with lane_points as (
    select site_id, lane_id, road_type, seq, left_x_m, left_y_m, right_x_m, right_y_m
    from {{ ref('lane_points') }}
),

quads as (
    select
        *,
        lead(left_x_m) over w as next_left_x_m,
        lead(left_y_m) over w as next_left_y_m,
        lead(right_x_m) over w as next_right_x_m,
        lead(right_y_m) over w as next_right_y_m
    from lane_points
    window w as (partition by site_id, lane_id order by seq)
),

sized as (
    select
        *,
        greatest(1, ceil(greatest(
            sqrt(pow(next_left_x_m - left_x_m, 2) + pow(next_left_y_m - left_y_m, 2)),
            sqrt(pow(next_right_x_m - right_x_m, 2) + pow(next_right_y_m - right_y_m, 2))
        ) / 0.5))::bigint as n_along,
        greatest(1, ceil(sqrt(pow(left_x_m - right_x_m, 2) + pow(left_y_m - right_y_m, 2)) / 0.5))::bigint as n_across
    from quads
    where next_left_x_m is not null
),

along as (
    select
        site_id,
        road_type,
        n_across,
        left_x_m + (next_left_x_m - left_x_m) * i / n_along as l_x,
        left_y_m + (next_left_y_m - left_y_m) * i / n_along as l_y,
        right_x_m + (next_right_x_m - right_x_m) * i / n_along as r_x,
        right_y_m + (next_right_y_m - right_y_m) * i / n_along as r_y
    from (select *, {{ unnest_list(int_range('0', 'n_along + 1')) }} as i from sized)
),

sampled as (
    select
        site_id,
        road_type,
        {{ lane_cell('l_x + (r_x - l_x) * j / n_across') }} as cell_x,
        {{ lane_cell('l_y + (r_y - l_y) * j / n_across') }} as cell_y
    from (select *, {{ unnest_list(int_range('0', 'n_across + 1')) }} as j from along)
),

counted as (
    select site_id, cell_x, cell_y, road_type, count(*) as n_points
    from sampled
    group by all
)

select site_id, cell_x, cell_y, road_type
from counted
qualify row_number() over (partition by site_id, cell_x, cell_y order by n_points desc, road_type asc) = 1
