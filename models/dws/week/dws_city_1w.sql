-- Per-city metrics per week (see macro dws_rollup).
{{ dws_rollup(['city'], 'week') }}
