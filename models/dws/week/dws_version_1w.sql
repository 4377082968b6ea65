-- Per-version metrics per week (see macro dws_rollup).
{{ dws_rollup(['version'], 'week') }}
