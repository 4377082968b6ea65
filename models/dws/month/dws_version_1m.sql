-- Per-version metrics per month (see macro dws_rollup).
{{ dws_rollup(['version'], 'month') }}
