-- Per-site metrics per day (see macro dws_rollup).
{{ dws_rollup(['site_id', 'city'], 'day') }}
