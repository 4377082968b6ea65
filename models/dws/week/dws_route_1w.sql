-- Per-route metrics per week (see macro dws_rollup).
{{ dws_rollup(['route_id', 'site_id'], 'week') }}
