-- Fleet-wide metrics per month (see macro dws_rollup).
{{ dws_rollup([], 'month') }}
