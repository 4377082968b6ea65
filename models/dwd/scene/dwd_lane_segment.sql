-- Lane segments of the lane map (seed lane_points: a point's feature columns describe the segment from it to
-- the next point) with their arc length along the lane, indexed under every lane cell their box touches,
-- widened by its reach (1.5 lane widths: the ego's lane and the centrelines of its neighbours, whose lanes
-- lane_count counts), so that a position finds its nearest segments by an equi-join on (site_id, route_id,
-- cell_x, cell_y) and projects onto each exactly.
{{ config(materialized='table', pre_hook=[], partition_by=none) }}
with lane_points as (
    select
        site_id, route_id, lane_id, successors, seq, x_m, y_m, left_x_m, left_y_m, right_x_m, right_y_m,
        junction_id, junction_signalised, crosswalk, merge, turn
    from {{ ref('lane_points') }}
),

segments as (
    select
        *,
        lead(x_m) over w as next_x_m,
        lead(y_m) over w as next_y_m,
        sqrt(pow(left_x_m - right_x_m, 2) + pow(left_y_m - right_y_m, 2)) as lane_width_m
    from lane_points
    window w as (partition by lane_id order by seq)
),

measured as (
    select *, sqrt(pow(next_x_m - x_m, 2) + pow(next_y_m - y_m, 2)) as length_m
    from segments
    where next_x_m is not null
),

placed as (
    select
        *,
        coalesce(sum(length_m) over (
            partition by lane_id order by seq rows between unbounded preceding and 1 preceding
        ), 0) as s0_m,
        lane_width_m * 1.5 as reach_m
    from measured
)

select
    site_id,
    route_id,
    lane_id,
    {{ split_text('successors', '|') }} as successors,
    seq,
    x_m,
    y_m,
    next_x_m,
    next_y_m,
    length_m,
    s0_m,
    lane_width_m,
    nullif(junction_id, '') as junction_id,
    junction_signalised,
    crosswalk,
    merge,
    turn,
    reach_m,
    cell_x,
    {{ unnest_list(int_range(lane_cell('least(y_m, next_y_m) - reach_m'),
                             lane_cell('greatest(y_m, next_y_m) + reach_m') ~ ' + 1')) }} as cell_y
from (
    select
        *,
        {{ unnest_list(int_range(lane_cell('least(x_m, next_x_m) - reach_m'),
                                 lane_cell('greatest(x_m, next_x_m) + reach_m') ~ ' + 1')) }} as cell_x
    from placed
)
