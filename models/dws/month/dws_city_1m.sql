-- Per-city metrics per month (see macro dws_rollup).
{{ dws_rollup(['city'], 'month') }}
