-- Per-vehicle metrics per month (see macro dws_rollup).
{{ dws_rollup(['vehicle_id', 'vehicle_class', 'site_id', 'city'], 'month') }}
