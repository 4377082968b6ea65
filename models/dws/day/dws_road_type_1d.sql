-- Per-road_type metrics per day (see macro dws_rollup).
{{ dws_rollup(['road_type'], 'day') }}
