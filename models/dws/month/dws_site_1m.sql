-- Per-site metrics per month (see macro dws_rollup).
{{ dws_rollup(['site_id', 'city'], 'month') }}
