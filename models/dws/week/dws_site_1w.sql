-- Per-site metrics per week (see macro dws_rollup).
{{ dws_rollup(['site_id', 'city'], 'week') }}
