-- Fleet-wide metrics per week (see macro dws_rollup).
{{ dws_rollup([], 'week') }}
