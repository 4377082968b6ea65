-- Per-route metrics per day (see macro dws_rollup).
{{ dws_rollup(['route_id', 'site_id'], 'day') }}
