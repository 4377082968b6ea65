-- Per-city metrics per day (see macro dws_rollup).
{{ dws_rollup(['city'], 'day') }}
