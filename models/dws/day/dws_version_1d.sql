-- Per-version metrics per day (see macro dws_rollup).
{{ dws_rollup(['version'], 'day') }}
