-- Per-road_type metrics per month (see macro dws_rollup).
{{ dws_rollup(['road_type'], 'month') }}
