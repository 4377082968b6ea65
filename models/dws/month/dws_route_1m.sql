-- Per-route metrics per month (see macro dws_rollup).
{{ dws_rollup(['route_id', 'site_id'], 'month') }}
