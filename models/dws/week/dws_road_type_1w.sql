-- Per-road_type metrics per week (see macro dws_rollup).
{{ dws_rollup(['road_type'], 'week') }}
